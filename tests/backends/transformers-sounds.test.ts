import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '../../src/core/errors.js';
import type { TransformersBackend } from '../../src/backends/transformers/index.js';
import { makeTinySoundClassifier, type TinySoundClassifier } from '../fixtures/onnx/index.js';
import { backendFor, tempDir, tone } from './transformers-helpers.js';

// Real transformers.js (wav2vec2 feature extractor + ONNX Runtime) on a generated classifier.
let tmp: { dir: string; cleanup: () => Promise<void> };
let model: TinySoundClassifier;
let backend: TransformersBackend;

beforeAll(async () => {
  tmp = await tempDir('sounds');
  model = await makeTinySoundClassifier(path.join(tmp.dir, 'tiny', 'sounds'), { loudLabel: 'Glass' });
  backend = backendFor('audio_events', { model: 'tiny/sounds' }, tmp.dir);
});

afterAll(async () => {
  await backend.dispose();
  await tmp.cleanup();
});

describe('transformers backend: audio classification (audio_events role)', () => {
  it('derives the task from the role and scores every label, loud audio -> the loud label', async () => {
    expect([...backend.capabilities]).toEqual(['audio_events']);
    const scores = await backend.classifyAudio({ sampleRate: 16_000, samples: tone(1, 16_000, 440, 0.3) });
    expect(scores.map((s) => s.label).sort()).toEqual([...model.labels].sort());
    expect(scores[0]?.label).toBe('Glass');
    expect(scores[0]?.score).toBeGreaterThan(0.98);
    // sigmoid per label (multi-label AudioSet), not a softmax that makes them sum to 1
    expect(scores.find((s) => s.label === 'Speech')?.score).toBeLessThan(0.01);
  });

  it('silence scores Silence, and the loud label stays under any useful threshold', async () => {
    const scores = await backend.classifyAudio({ sampleRate: 16_000, samples: new Float32Array(16_000) });
    expect(scores[0]?.label).toBe('Silence');
    expect(scores.find((s) => s.label === 'Glass')?.score).toBeLessThan(0.05);
  });

  it('resamples 44.1 kHz audio and pads a 5 ms window', async () => {
    const resampled = await backend.classifyAudio({ sampleRate: 44_100, samples: tone(0.5, 44_100, 440, 0.5) });
    expect(resampled[0]?.label).toBe('Glass');
    const short = await backend.classifyAudio({ sampleRate: 16_000, samples: tone(0.005, 16_000, 440, 0.9) });
    expect(short.length).toBe(model.labels.length);
  });

  it('refuses audio that is not audio, and a role with another task', async () => {
    await expect(backend.classifyAudio({ sampleRate: 16_000, samples: Float32Array.from([0.1, Number.NaN]) })).rejects.toBeInstanceOf(InputError);
    await expect(backend.classifyAudio({ sampleRate: 16_000, samples: new Float32Array(0) })).rejects.toThrow(/empty/);
    const other = backendFor('embedding', { model: 'tiny/sounds' }, tmp.dir);
    await expect(other.classifyAudio({ sampleRate: 16_000, samples: tone(0.2, 16_000) })).rejects.toThrow(/cannot classify sounds/);
    await other.dispose();
  });

  it('a folder without preprocessor_config.json fails with the files to put there', async () => {
    const b = backendFor('audio_events', { model: 'tiny/missing' }, tmp.dir);
    await expect(b.classifyAudio({ sampleRate: 16_000, samples: tone(0.2, 16_000) })).rejects.toThrow(/preprocessor_config\.json/);
    await b.dispose();
  });
});
