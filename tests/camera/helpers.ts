/**
 * Test plumbing for the camera path: a timed stand-in router for tests about scheduling,
 * sources and bad input (the model path itself is tested through the real router and the
 * tiny ONNX captioner in snapshot-e2e.test.ts), and JPEGs made with sharp.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import type { GenerateResult } from '../../src/backends/types.js';
import type { AppContext } from '../../src/core/context.js';
import type { ModelRouter, Routed } from '../../src/router/types.js';

/** A router whose model takes `ms` and answers `answer` (JSON text), for timing tests and the bench. */
export function timedRouter(ms: number, answer: (n: number) => Record<string, unknown>): ModelRouter & { calls: number } {
  const r = {
    calls: 0,
    async describe(req: Parameters<ModelRouter['describe']>[0]): Promise<Routed<GenerateResult>> {
      const n = ++r.calls;
      const t0 = performance.now();
      if (ms > 0) await new Promise((res) => setTimeout(res, ms));
      if (req.signal?.aborted) throw new Error('aborted');
      const json = answer(n);
      const latencyMs = performance.now() - t0;
      return { value: { text: JSON.stringify(json), json, model: 'timed', tokens: 1, latencyMs }, route: 'vision', reason: 'image input -> vision', model: 'timed', latencyMs };
    },
    answer: () => Promise.reject(new Error('unused')),
    transcribe: () => Promise.reject(new Error('unused')),
    synthesize: () => Promise.reject(new Error('unused')),
    embed: () => Promise.reject(new Error('unused')),
  };
  return r;
}

export function attachRouter(ctx: AppContext, router: ModelRouter): void {
  (ctx as AppContext & { router?: ModelRouter }).router = router;
}

export function solidJpeg(rgb: [number, number, number], size = { width: 64, height: 48 }): Promise<Buffer> {
  return sharp({ create: { ...size, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } } }).jpeg().toBuffer();
}

/**
 * A JPEG of random 16x9 colour blocks plus fine noise: each seed is its own scene (its own
 * dHash, stable under re-encoding at another quality), and the noise makes the file as large
 * as a real camera frame of that size (1280x720 at quality 80: ~220 KB).
 */
export async function patternJpeg(seed: number, width = 640, height = 480, quality = 90): Promise<Buffer> {
  let x = (seed * 2654435761) >>> 0 || 1;
  const rnd = () => {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    return x;
  };
  const blocks = Array.from({ length: 16 * 9 * 3 }, () => rnd() & 0xff);
  const raw = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    const row = Math.floor((y * 9) / height) * 16;
    for (let c = 0; c < width; c++) {
      const b = (row + Math.floor((c * 16) / width)) * 3;
      const o = (y * width + c) * 3;
      for (let ch = 0; ch < 3; ch++) raw[o + ch] = Math.min(255, (blocks[b + ch] ?? 0) * 0.85 + (rnd() & 0x27));
    }
  }
  return sharp(raw, { raw: { width, height, channels: 3 } }).jpeg({ quality }).toBuffer();
}

export async function tempDir(prefix: string): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `sarai-${prefix}-`));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** What a fresh subscriber gets for `topic` (the retained copy), or throws after timeoutMs. */
export async function readRetained(url: string, topic: string, timeoutMs = 5_000): Promise<Buffer> {
  const { MqttProbe } = await import('../helpers/mqtt-probe.js');
  const p = await MqttProbe.connect(url, [topic]);
  try {
    const m = await p.waitForTopic(topic, timeoutMs);
    if (!m.retain) throw new Error(`${topic} arrived but not as a retained copy`);
    return m.payload;
  } finally {
    await p.close();
  }
}
