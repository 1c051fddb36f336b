/**
 * The JSON schema a vision/omni model must answer a camera snapshot with (structured output).
 * It is the model-produced part of CameraResult (src/core/results.ts); the bridge adds id,
 * camera, route, model, latency and ts. `summary` becomes an HA sensor state, hence <= 255.
 */
export const CAMERA_SEVERITIES = ['none', 'low', 'medium', 'high'] as const;

export const CAMERA_RESULT_SCHEMA = {
  type: 'object',
  properties: {
    summary: { type: 'string', maxLength: 255 },
    description: { type: 'string' },
    objects: { type: 'array', items: { type: 'string' } },
    alert: { type: 'boolean' },
    severity: { enum: [...CAMERA_SEVERITIES] },
    // camera memory: what is new and what left since the previous description (optional)
    changed: { type: 'string' },
  },
  required: ['summary', 'description', 'objects', 'alert', 'severity'],
} as const;

export interface CameraModelAnswer {
  summary: string;
  description: string;
  objects: string[];
  alert: boolean;
  severity: (typeof CAMERA_SEVERITIES)[number];
  /** The model's own words on what changed since the previous description, when asked. */
  changed?: string;
}
