/** Audio helpers for the voice path: WAV in and out, PCM decoding, 16 kHz mono, VAD trimming. */
export { readWav, type WavAudio, type WavReadOptions } from './wav-reader.js';
export { writeWav16, wavFromPcm16 } from './wav-writer.js';
export { decodePcm, encodePcm16, checkPcmFormat, bytesPerSecond, type PcmFormat, MIN_RATE_HZ, MAX_RATE_HZ, MAX_CHANNELS } from './pcm.js';
export { resample } from './resample.js';
export { toSpeechAudio, downmix, SPEECH_RATE_HZ } from './convert.js';
export { SileroTrimmer } from './vad.js';
