import type { Config } from '../config/schema/index.js';

/** One camera's effective settings: its own entry under `cameras:` over camera_defaults. */
export interface CameraSettings {
  id: string;
  name: string;
  prompt: string;
  cooldownMs: number;
  alertLabels: string[];
  alertZones: string[];
  quietHours: string;
  cameraEntity: string;
  motionEntity: string;
  /** Compare with the previous accepted result (prompt context and the `changed` field). */
  memory: boolean;
  configured: boolean;
}

/** Title-cased id for unnamed cameras: `front_door` -> `Front door`. */
function nameFromId(id: string): string {
  const s = id.replace(/_+/g, ' ').trim();
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** `id` must already have passed checkId. */
export function cameraSettings(config: Config, id: string): CameraSettings {
  const c = config.cameras[id];
  const d = config.camera_defaults;
  return {
    id,
    name: c?.name || nameFromId(id),
    prompt: c?.prompt || d.prompt,
    cooldownMs: Math.round((c ? c.cooldown_s : d.cooldown_s) * 1000),
    alertLabels: c?.alert_labels ?? ['person'],
    alertZones: c?.alert_zones ?? [],
    quietHours: d.quiet_hours,
    cameraEntity: c?.camera_entity ?? '',
    motionEntity: c?.motion_entity ?? '',
    memory: c ? c.memory : d.memory,
    configured: c !== undefined,
  };
}

/**
 * Longest image side (px) to send: the `image_size` of the first configured role in the
 * router's image chain (the model that will most likely see it), else 768.
 */
export function imageSizeFor(config: Config): number {
  for (const role of config.router.image_chain) {
    const m = config.models[role];
    if (m?.enabled) return m.image_size;
  }
  return 768;
}
