/**
 * Sound events: the audio_events role (an audio classifier) listens to the audio of clips and,
 * per camera, to live RTSP audio; the sounds a camera listens for become sarai_alert events and
 * its sound event entity, through the camera alert rules and cooldown.
 */
import type { AppContext } from '../core/context.js';
import { RtspAudioService } from './rtsp-audio.js';

export { SOUND_ROLE, SoundListener, soundListenerFor, type ListenReport } from './listener.js';
export { RtspAudioService, rtspAudioArgs } from './rtsp-audio.js';
export { soundWords } from './alerts.js';

export function soundsFeature(ctx: AppContext): RtspAudioService {
  return new RtspAudioService(ctx);
}
