import type { Audio } from '../../backends/types.js';
import { encodePcm16 } from './pcm.js';

/** Mono float audio -> a 16-bit PCM WAV file (44-byte header). */
export function writeWav16(audio: Audio): Buffer {
  return wavFromPcm16(encodePcm16(audio.samples), audio.sampleRate, 1);
}

/** Wraps 16-bit little-endian PCM bytes in a WAV header. */
export function wavFromPcm16(pcm: Buffer, rate: number, channels: number): Buffer {
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'latin1');
  header.writeUInt32LE(36 + pcm.length, 4);
  header.write('WAVE', 8, 'latin1');
  header.write('fmt ', 12, 'latin1');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(channels, 22);
  header.writeUInt32LE(rate, 24);
  header.writeUInt32LE(rate * channels * 2, 28);
  header.writeUInt16LE(channels * 2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36, 'latin1');
  header.writeUInt32LE(pcm.length, 40);
  return Buffer.concat([header, pcm]);
}
