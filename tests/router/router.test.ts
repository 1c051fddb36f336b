import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '../../src/core/errors.js';
import { NoCapableBackendError } from '../../src/router/errors.js';
import { Router } from '../../src/router/router.js';
import type { Routed } from '../../src/router/types.js';
import { OllamaServer } from '../fixtures/ollama-server.js';
import { OpenAIServer } from '../fixtures/openai-server.js';
import { harness, log, tinyModels, transformersRoles, type Harness, type TinyModels } from './harness.js';

let omni: OpenAIServer;
let tiny: OpenAIServer;
let expert: OllamaServer;
let models: TinyModels;
let jpeg: Buffer;

const audio = { sampleRate: 16_000, samples: Float32Array.from({ length: 8000 }, (_, i) => 0.3 * Math.sin(i / 7)) };

beforeAll(async () => {
  [omni, tiny, expert, models] = await Promise.all([
    OpenAIServer.start({ reply: 'omni: a person at the door' }),
    OpenAIServer.start({ model: 'LFM2-1.2B', reply: 'tiny: done' }),
    OllamaServer.start({ reply: 'expert: a long answer' }),
    tinyModels(),
  ]);
  jpeg = await sharp({ create: { width: 64, height: 48, channels: 3, background: { r: 10, g: 120, b: 30 } } }).jpeg().toBuffer();
});
afterAll(async () => {
  await Promise.all([omni.close(), tiny.close(), expert.close(), models.cleanup()]);
});

function full(over: Record<string, Record<string, unknown>> = {}): Record<string, Record<string, unknown>> {
  return {
    omni: { backend: 'openai', url: omni.url, model: 'Qwen2.5-Omni-7B', name: 'Qwen2.5-Omni-7B' },
    tiny: { backend: 'openai', url: tiny.url, model: 'LFM2-1.2B', name: 'LFM2-1.2B' },
    expert: { backend: 'ollama', url: expert.url, model: 'solar', name: 'SOLAR', fallbacks: ['tiny'] },
    ...transformersRoles(models),
    ...over,
  };
}

type Call = (h: Harness) => Promise<Routed<unknown>>;
const answer = (text: string): Call => (h) => h.router.answer(text);
const describeImg = (n: number, withAudio = false) => (h: Harness) =>
  h.router.describe({ prompt: 'what is happening?', images: Array.from({ length: n }, () => jpeg), ...(withAudio ? { audio } : {}) });

describe('router: inputs -> route and reason', () => {
  const table: { name: string; models?: Record<string, Record<string, unknown>>; router?: Record<string, unknown>; call: Call; route: string; reason: RegExp; model?: string }[] = [
    { name: 'short home command', call: answer('turn on the kitchen light'), route: 'tiny', reason: /^classifier: tiny \(tiny 0\.\d\d vs expert -?0\.\d\d\) -> tiny$/, model: 'LFM2-1.2B' },
    { name: 'hard question', call: answer('explain why quantum physics theory'), route: 'expert', reason: /^classifier: expert \(0\.\d\d vs tiny -?0\.\d\d\) -> expert$/, model: 'SOLAR' },
    { name: 'one image', call: describeImg(1), route: 'omni', reason: /^image input -> omni$/ },
    { name: 'video frames', call: describeImg(3), route: 'omni', reason: /^3 frames input -> omni$/ },
    { name: 'image + audio to a model that hears', call: describeImg(1, true), route: 'omni', reason: /^image \+ audio input -> omni$/ },
    {
      name: 'omni disabled: vision, and the audio is dropped',
      models: { omni: { backend: 'openai', url: 'http://127.0.0.1:9/v1', enabled: false } },
      call: describeImg(1, true),
      route: 'vision',
      reason: /^image \+ audio input; omni disabled -> vision; audio dropped \(vision cannot hear\)$/,
      model: 'tiny-captioner',
    },
    { name: 'speech to text on the omni path', call: (h) => h.router.transcribe(audio), route: 'omni', reason: /^audio input -> omni$/ },
    {
      name: 'speech to text without omni',
      models: { omni: { backend: 'openai', url: 'http://127.0.0.1:9/v1', enabled: false } },
      call: (h) => h.router.transcribe(audio),
      route: 'stt',
      reason: /^audio input; omni disabled -> stt$/,
    },
    { name: 'text to speech', call: (h) => h.router.synthesize('hello there'), route: 'tts', reason: /^speech output -> tts$/ },
    { name: 'embeddings', call: (h) => h.router.embed(['a', 'b']), route: 'embedding', reason: /^embedding -> embedding$/ },
    { name: 'a role forced by the caller', call: (h) => h.router.answer('turn on the light', { role: 'expert' }), route: 'expert', reason: /^role expert requested -> expert$/ },
    {
      name: 'no embedding role: rules (keyword)',
      models: { embedding: { backend: 'transformers', model: '/nonexistent', enabled: false } },
      router: { expert_keywords: ['step by step'] },
      call: answer('walk me step by step through it'),
      route: 'expert',
      reason: /^rules \(no embedding role\): keyword "step by step" -> expert$/,
    },
    {
      name: 'no embedding role: rules (short text)',
      models: { embedding: { backend: 'transformers', model: '/nonexistent', enabled: false } },
      call: answer('lights off'),
      route: 'tiny',
      reason: /^rules \(no embedding role\): 2 words, no expert keyword -> tiny$/,
    },
    {
      name: 'no expert role at all',
      models: { expert: { backend: 'ollama', url: 'http://127.0.0.1:9', enabled: false } },
      call: answer('explain why quantum physics theory'),
      route: 'tiny',
      reason: /^text \(no expert role\) -> tiny$/,
    },
  ];
  for (const row of table) {
    it(row.name, async () => {
      const h = harness(full(row.models), row.router);
      try {
        const r = await row.call(h);
        expect(r.route).toBe(row.route);
        expect(r.reason).toMatch(row.reason);
        if (row.model) expect(r.model).toBe(row.model);
        expect(r.latencyMs).toBeGreaterThanOrEqual(0);
      } finally {
        await h.stop();
      }
    });
  }

  it('describe with a JSON schema goes to omni as response_format; vision returns plain text and says so', async () => {
    const schema = { type: 'object', properties: { summary: { type: 'string' } }, required: ['summary'] };
    const h = harness(full({ omni: { backend: 'openai', url: 'http://127.0.0.1:9/v1', enabled: false } }));
    try {
      const r = await h.router.describe({ prompt: 'describe', images: [jpeg], jsonSchema: schema });
      expect(r.route).toBe('vision');
      expect(r.reason).toMatch(/plain text \(vision has no JSON schema output\)$/);
      expect(typeof r.value.text).toBe('string');
    } finally {
      await h.stop();
    }
  });
});

describe('router: failures and fallbacks', () => {
  it('an expert that hangs: tiny answers within the expert timeout', async () => {
    const h = harness(full({ expert: { backend: 'ollama', url: expert.url, model: 'solar', timeout_s: 0.4, fallbacks: ['tiny'] } }));
    try {
      await h.router.answer('turn on the kitchen light'); // loads the embedder and exemplars: not what is timed
      expert.next({ kind: 'hang' });
      const t0 = Date.now();
      const r = await h.router.answer('explain why quantum physics theory');
      const ms = Date.now() - t0;
      expect(ms).toBeGreaterThanOrEqual(390);
      expect(ms).toBeLessThan(2500); // 0.4 s for the expert, then tiny's answer (a loaded, shared machine)
      expect(r.route).toBe('tiny');
      expect(r.reason).toMatch(/^classifier: expert .*; expert failed \(expert: no answer within 0\.4 s \(timeout_s\)\) -> tiny$/);
    } finally {
      await h.stop();
    }
  });

  it('a dead server: the circuit opens (no more requests to it), then closes when it comes back', async () => {
    const dying = await OpenAIServer.start({ reply: 'omni is back' });
    const h = harness(full({ omni: { backend: 'openai', url: dying.url, model: 'Qwen2.5-Omni-7B' } }), { circuit_failures: 2, circuit_reset_s: 30 });
    try {
      expect((await describeImg(1)(h)).route).toBe('omni'); // started and healthy
      await dying.peer.kill();
      for (let i = 0; i < 2; i++) {
        const r = await describeImg(1)(h);
        expect(r.route).toBe('vision');
        expect(r.reason).toMatch(/^image input; omni failed \(omni: cannot reach .*ECONNREFUSED\)\) -> vision$/);
      }
      expect(h.registry.get('omni')?.circuit.state).toBe('open');
      const open = await describeImg(1)(h);
      expect(open.reason).toBe('image input; omni circuit open after 2 failures -> vision');
      expect(await h.metrics.getSingleMetricAsString('sarai_backend_circuit_state')).toMatch(/role="omni",kind="openai"} 2/);

      await dying.peer.revive();
      const before = dying.requests.length;
      expect((await describeImg(1)(h)).route).toBe('vision'); // still open: the revived server is not asked yet
      expect(dying.requests.length).toBe(before);
      h.clock.now += 30_000; // circuit_reset_s later: one probe goes through
      const probe = await describeImg(1)(h);
      expect(probe.route).toBe('omni');
      expect(probe.value.text).toBe('omni is back');
      expect(h.registry.get('omni')?.circuit.state).toBe('closed');
    } finally {
      await h.stop();
      await dying.close();
    }
  });

  it('a server down at start is retried on the throttle, not on every request', async () => {
    const late = await OpenAIServer.start({ reply: 'omni came up' });
    const url = late.url;
    await late.peer.kill();
    const h = harness(full({ omni: { backend: 'openai', url, model: 'Qwen2.5-Omni-7B' } }), { retry_start_s: 60 });
    try {
      const first = await describeImg(1)(h);
      expect(first.route).toBe('vision');
      expect(first.reason).toMatch(/omni failed \(omni: cannot reach/);
      const second = await describeImg(1)(h);
      expect(second.reason).toBe('image input; omni failed to start, retry in 60 s -> vision');
      expect(h.registry.bridgeState()).toMatchObject({ backend_problem: true, backend_problems: [expect.stringMatching(/^omni: omni: cannot reach/) as string] });
      await late.peer.revive();
      h.clock.now += 60_000;
      const third = await describeImg(1)(h);
      expect(third.route).toBe('omni');
      expect(h.registry.bridgeState()).toMatchObject({ backend_problem: false });
    } finally {
      await h.stop();
      await late.close();
    }
  });

  it('a busy expert (queue_limit 0): the second question goes to tiny at once', async () => {
    const h = harness(full({ expert: { backend: 'ollama', url: expert.url, model: 'solar', concurrency: 1, queue_limit: 0, fallbacks: ['tiny'] } }));
    try {
      expert.next({ kind: 'slow', ms: 300 });
      const first = h.router.answer('explain why quantum physics theory');
      const second = await h.router.answer('explain why quantum physics theory');
      expect(second.route).toBe('tiny');
      expect(second.reason).toMatch(/expert failed \(expert \(solar\): busy \(1 running, 0 queued; queue_limit 0\)\) -> tiny$/);
      expect((await first).route).toBe('expert');
    } finally {
      await h.stop();
    }
  });

  it('nothing capable: NoCapableBackendError naming every role and why', async () => {
    const h = harness({ tiny: { backend: 'openai', url: tiny.url, model: 'LFM2-1.2B' }, omni: { backend: 'openai', url: omni.url, enabled: false } });
    try {
      const err = await describeImg(1)(h).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NoCapableBackendError);
      expect((err as Error).message).toBe('describe: no configured, healthy backend can take image input: omni disabled; vision not configured');
      await expect(h.router.synthesize('hi')).rejects.toThrow(/speech output: tts not configured$/);
    } finally {
      await h.stop();
    }
  });

  it('bad input: an image nobody can take is an InputError, and the next request still works', async () => {
    const h = harness(full());
    try {
      const err = await h.router.describe({ prompt: 'x', images: [Buffer.from('<html>not an image</html>')] }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InputError);
      expect((err as Error).message).toMatch(/describe failed: omni: the image is not a JPEG, PNG, WebP or GIF image; vision: the image could not be decoded/);
      expect(h.registry.get('omni')?.circuit.state).toBe('closed'); // bad input is not the server's fault
      expect((await describeImg(1)(h)).route).toBe('omni');
      await expect(h.router.answer('   ')).rejects.toBeInstanceOf(InputError);
    } finally {
      await h.stop();
    }
  });

  it('a 500, an HTML page and a cut stream from omni fall back to vision with the reason', async () => {
    const h = harness(full(), { circuit_failures: 5 });
    try {
      omni.next({ kind: 'error', status: 500, message: 'slot unavailable' });
      expect((await describeImg(1)(h)).reason).toMatch(/omni failed \(omni: POST \/chat\/completions answered 500 Internal Server Error: slot unavailable \(server_error\)\) -> vision$/);
      omni.next({ kind: 'html', status: 502 });
      expect((await describeImg(1)(h)).reason).toMatch(/omni failed \(.*502.*HTML page.*\) -> vision$/);
      omni.next({ kind: 'cut', after: 2 });
      const tokens: string[] = [];
      const r = await h.router.answer('turn on the lamp', { role: 'omni', onToken: (t) => tokens.push(t) });
      expect(r.route).not.toBe('omni');
      expect(r.reason).toMatch(/omni failed \(omni: the stream stopped midway/);
      expect((await describeImg(1)(h)).route).toBe('omni');
    } finally {
      await h.stop();
    }
  });

  it('does not embed again for the tier decision a question it has just embedded (history decision), within 10 s', async () => {
    const h = harness(full());
    let now = 0;
    const router = new Router(h.registry, log, () => now);
    const classifyCalls = async (): Promise<number> => Number(/op="classify",outcome="ok"} (\d+)/.exec(await h.metrics.metrics())?.[1] ?? 0);
    try {
      const q = 'turn on the kitchen light';
      const [v] = (await router.embed([q])).value;
      expect((await router.answer(q)).route).toBe('tiny');
      expect(await classifyCalls()).toBe(1); // the exemplars only: the question's vector was reused
      const [again] = (await router.embed([q])).value;
      expect(Array.from(again ?? [])).toEqual(Array.from(v ?? [])); // the same model gives the same vector
      await router.answer('turn off the garage light'); // not embedded before: one call
      expect(await classifyCalls()).toBe(2);
      now += 10_001; // too old: embedded again
      await router.answer(q);
      expect(await classifyCalls()).toBe(3);
    } finally {
      await h.stop();
    }
  });

  it('reports every role on /metrics', async () => {
    const h = harness(full());
    try {
      await h.router.answer('turn on the kitchen light');
      const text = await h.metrics.metrics();
      expect(text).toMatch(/sarai_backend_up{role="tiny",kind="openai"} 1/);
      expect(text).toMatch(/sarai_backend_requests_total{role="tiny",kind="openai",op="answer",outcome="ok"} 1/);
      expect(text).toMatch(/sarai_backend_requests_total{role="embedding",kind="transformers",op="classify",outcome="ok"} 2/);
      expect(text).toMatch(/sarai_backend_request_seconds_bucket{le="\+Inf",role="tiny",kind="openai",op="answer"} 1/);
    } finally {
      await h.stop();
    }
  });
});
