import type { Config } from '../config/schema/index.js';

/**
 * Whether this process takes streams (voice audio, live camera audio): a lone bridge always;
 * in a group only the cluster.voice_streams worker, since a stream must stay on one worker.
 */
export function takesStreams(config: Config): boolean {
  return !config.cluster.group || config.cluster.voice_streams;
}
