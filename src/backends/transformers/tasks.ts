import type { Capability } from '../types.js';

/** The transformers.js pipeline tasks this backend runs. */
export const TRANSFORMERS_TASKS = ['image-to-text', 'automatic-speech-recognition', 'text-to-speech', 'feature-extraction', 'audio-classification'] as const;
export type TransformersTask = (typeof TRANSFORMERS_TASKS)[number];

/** Other names users write for the same tasks (transformers.js accepts these aliases too). */
const ALIASES: Record<string, TransformersTask> = {
  'text-to-audio': 'text-to-speech',
  embeddings: 'feature-extraction',
  asr: 'automatic-speech-recognition',
  'audio-events': 'audio-classification',
};

/** Task when config leaves `task` empty: from the role the model serves. */
const ROLE_TASKS: Record<string, TransformersTask> = {
  omni: 'image-to-text',
  vision: 'image-to-text',
  stt: 'automatic-speech-recognition',
  tts: 'text-to-speech',
  embedding: 'feature-extraction',
  audio_events: 'audio-classification',
};

/** The task for a role: `task` from config when set, else derived; undefined when neither works. */
export function resolveTask(role: string, task: string): TransformersTask | undefined {
  const t = task.trim();
  if (t) return (TRANSFORMERS_TASKS as readonly string[]).includes(t) ? (t as TransformersTask) : ALIASES[t];
  return ROLE_TASKS[role];
}

export function taskProblem(role: string, task: string): string | undefined {
  if (resolveTask(role, task)) return undefined;
  return task.trim()
    ? `models.${role}.task: ${task} is not a task the transformers backend runs (${TRANSFORMERS_TASKS.join(', ')})`
    : `models.${role}.task: set it for role ${role} (${TRANSFORMERS_TASKS.join(', ')}); it can only be derived for ${Object.keys(ROLE_TASKS).join(', ')}`;
}

export function capabilitiesFor(task: TransformersTask): Capability[] {
  switch (task) {
    // Frames of a clip are captioned one by one, so video works wherever images do.
    case 'image-to-text':
      return ['image', 'video'];
    case 'automatic-speech-recognition':
      return ['audio_in'];
    case 'text-to-speech':
      return ['audio_out'];
    case 'feature-extraction':
      return ['embedding'];
    case 'audio-classification':
      return ['audio_events'];
  }
}
