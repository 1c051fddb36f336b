import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Scripted } from '../fixtures/http-peer.js';
import { OllamaServer } from '../fixtures/ollama-server.js';
import { OpenAIServer } from '../fixtures/openai-server.js';
import { harness } from './harness.js';

/**
 * Each way a remote model server fails, on both remote kinds, through the real router and
 * registry: the question fails over to tiny within the expert's timeout, two failures open the
 * expert's circuit (then it is not asked at all), one probe after circuit_reset_s closes it
 * again, and no call is left holding a slot.
 */
const FAULTS: { name: string; s: Scripted; reason: RegExp }[] = [
  { name: 'hangs', s: { kind: 'hang' }, reason: /no answer within 3 s \(timeout_s\)/ },
  { name: 'resets the connection mid-stream', s: { kind: 'reset', after: 1 }, reason: /expert failed \(/ },
  { name: 'answers 500', s: { kind: 'error', status: 500, message: 'slot unavailable' }, reason: /500/ },
  { name: 'answers an HTML page', s: { kind: 'html', status: 502 }, reason: /502|HTML/ },
  { name: 'cuts its JSON stream in half', s: { kind: 'cut', after: 1 }, reason: /expert failed \(/ },
];

let tiny: OpenAIServer;
beforeAll(async () => {
  tiny = await OpenAIServer.start({ model: 'LFM2-1.2B', reply: 'tiny: done' });
});
afterAll(async () => {
  await tiny.close();
});

for (const kind of ['openai', 'ollama'] as const) {
  describe(`an ${kind} expert that fails`, () => {
    for (const f of FAULTS) {
      it(`${f.name}: fails over to tiny in time, the circuit opens and closes again, nothing pending`, async () => {
        const server = kind === 'openai' ? await OpenAIServer.start({ model: 'solar', reply: 'expert: fine' }) : await OllamaServer.start({ reply: 'expert: fine' });
        const expertRole = kind === 'openai' ? { backend: 'openai', url: server.url, model: 'solar' } : { backend: 'ollama', url: server.url, model: 'solar' };
        const h = harness(
          { tiny: { backend: 'openai', url: tiny.url, model: 'LFM2-1.2B' }, expert: { ...expertRole, timeout_s: 3, fallbacks: ['tiny'] } },
          { circuit_failures: 2, circuit_reset_s: 30 },
        );
        const expert = () => h.registry.get('expert');
        const ask = () => h.router.answer('explain the theory', { role: 'expert', onToken: () => {} });
        try {
          expect((await ask()).route).toBe('expert'); // healthy first
          for (let i = 0; i < 2; i++) {
            server.next(f.s);
            const t0 = Date.now();
            const r = await ask();
            expect(Date.now() - t0).toBeLessThan(15_000); // 3 s timeout + tiny, on a loaded machine
            expect(r.route).toBe('tiny');
            expect(r.value.text).toBe('tiny: done');
            expect(r.reason).toMatch(f.reason);
            expect({ active: expert()?.limiter.active, queued: expert()?.limiter.queued }).toEqual({ active: 0, queued: 0 });
          }
          expect(expert()?.circuit.state).toBe('open');
          const asked = server.requests.length;
          expect((await ask()).reason).toMatch(/expert circuit open after 2 failures -> tiny/);
          expect(server.requests.length).toBe(asked); // an open circuit spares the server
          h.clock.now += 30_000;
          const probe = await ask();
          expect(probe.route).toBe('expert');
          expect(expert()?.circuit.state).toBe('closed');
          expect({ active: expert()?.limiter.active, queued: expert()?.limiter.queued }).toEqual({ active: 0, queued: 0 });
        } finally {
          await h.stop();
          await server.close();
        }
      }, 60_000);
    }
  });
}
