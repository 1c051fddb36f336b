import type { ModelConfig } from '../config/schema/index.js';
import type { Capability } from './types.js';

/** What a model server role can take when config does not say (models.<role>.capabilities). */
const BY_ROLE: Record<string, Capability[]> = {
  omni: ['text', 'image', 'video', 'audio_in', 'json_schema'],
  vision: ['text', 'image', 'video', 'json_schema'],
  stt: ['audio_in'],
  embedding: ['embedding'],
};
const DEFAULT: Capability[] = ['text', 'json_schema'];

/**
 * A remote server cannot be asked what its model takes, so the role says it (omni: images
 * and audio; vision: images; others: text), unless models.<role>.capabilities lists them.
 */
export function remoteCapabilities(role: string, spec: Pick<ModelConfig, 'capabilities'>): ReadonlySet<Capability> {
  if (spec.capabilities.length > 0) return new Set(spec.capabilities as Capability[]);
  return new Set(BY_ROLE[role] ?? DEFAULT);
}
