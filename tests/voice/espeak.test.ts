import { describe, expect, it } from 'vitest';
import { EspeakBackend } from '../../src/backends/espeak/index.js';
import { configFromObject } from '../../src/config/load.js';
import { BackendError, InputError } from '../../src/core/errors.js';
import { createLogger } from '../../src/log/logger.js';
import { writeWav16 } from '../../src/media/audio/index.js';
import { requireProgram } from '../helpers/require-program.js';
import { claimedDurationS, ffprobe } from './helpers.js';

const haveEspeak = requireProgram('espeak-ng');
const log = createLogger('silent');

function espeak(spec: Record<string, unknown> = {}, bin?: string): EspeakBackend {
  const config = configFromObject({ models: { tts: { backend: 'espeak', ...spec } } }, 'test');
  return new EspeakBackend({ role: 'tts', spec: config.models['tts']!, log, ...(bin ? { bin } : {}) });
}

describe.skipIf(!haveEspeak)('espeak-ng backend', () => {
  it('speaks text into a valid 16-bit WAV with the duration it claims', async () => {
    const b = espeak({ voice: 'en-us' });
    await b.start();
    expect(b.health().state).toBe('ready');
    const r = await b.synthesize('The kitchen lights are on.');
    expect(r.audio.sampleRate).toBe(22050);
    expect(r.audio.samples.length / 22050).toBeGreaterThan(0.8);
    const wav = writeWav16(r.audio);
    const p = ffprobe(wav);
    expect(p).toMatchObject({ codec: 'pcm_s16le', bitsPerSample: 16, channels: 1, sampleRate: 22050 });
    expect(p.durationS).toBeCloseTo(claimedDurationS(wav), 2);
    expect(p.durationS).toBeCloseTo(r.audio.samples.length / 22050, 3);
    await b.dispose();
  });

  it('treats the text as text: option-like input is spoken, not run', async () => {
    const b = espeak();
    const r = await b.synthesize('--help -w /tmp/owned.wav');
    expect(r.audio.samples.length).toBeGreaterThan(1000);
    await b.dispose();
  });

  it('rejects empty, too long and non-UTF-8 text with clear errors', async () => {
    const b = espeak();
    await expect(b.synthesize('   ')).rejects.toThrow(/empty text/);
    await expect(b.synthesize('a'.repeat(2001))).rejects.toThrow(/limit is 2000/);
    const fromBadBytes = Buffer.from([0x68, 0x69, 0xff, 0xfe]).toString('utf8');
    await expect(b.synthesize(fromBadBytes)).rejects.toThrow(InputError);
    await b.dispose();
  });

  it('reports a missing program as a BackendError, and a bad voice name at construction', async () => {
    const b = espeak({}, '/nonexistent/espeak-ng');
    await expect(b.start()).rejects.toThrow(BackendError);
    expect(b.health().state).toBe('failed');
    expect(() => espeak({ voice: 'en; rm -rf /' })).toThrow(/not a voice name/);
  });
});
