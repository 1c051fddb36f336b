import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log/logger.js';
import { WyomingServer } from '../../src/wyoming/server.js';
import { haveMosquitto, startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { freePort } from '../helpers/ports.js';
import { requireProgram } from '../helpers/require-program.js';
import { RawWyomingClient } from './raw-client.js';

/**
 * The whole bridge as a process (`sarai run`), attacked over its sockets as a flaky network or
 * an attacker would: connections reset when refused, mid-header, mid-payload and mid-reply,
 * idle and stalled clients. The process must stay up and keep serving new clients at once.
 */
const ready = haveMosquitto() && requireProgram('espeak-ng');
const MAX_CONNECTIONS = 4;

/** Connects, lets `act` write, then resets (RST) instead of closing. */
async function resetAfter(port: number, act: (s: net.Socket) => Promise<void> | void): Promise<void> {
  const s = net.connect(port, '127.0.0.1');
  s.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    s.once('connect', resolve);
    s.once('error', reject);
  });
  await act(s);
  s.resetAndDestroy();
}

/** Resolves once `s` has received at least `bytes` bytes (or closed). */
function received(s: net.Socket, bytes: number, timeoutMs = 30_000): Promise<void> {
  return new Promise((resolve, reject) => {
    let n = 0;
    const t = setTimeout(() => reject(new Error(`only ${n} bytes received`)), timeoutMs);
    const done = (): void => {
      clearTimeout(t);
      resolve();
    };
    s.on('data', (d: Buffer) => {
      n += d.length;
      if (n >= bytes) done();
    });
    s.once('close', done);
  });
}

/** Time (ms) from connect to the `info` answer of a fresh client. */
async function describeMs(port: number): Promise<number> {
  const t0 = performance.now();
  const c = await RawWyomingClient.connect(port);
  c.send('describe');
  await c.waitFor('info', 10_000);
  c.close();
  return performance.now() - t0;
}

describe.skipIf(!ready)('a Wyoming reset/idle storm against the running bridge', { timeout: 180_000 }, () => {
  let broker: Mosquitto;
  let child: ChildProcess;
  let dir: string;
  let ttsPort: number;
  let asrPort: number;
  let httpPort: number;
  let stderr = '';

  beforeAll(async () => {
    broker = await startMosquitto();
    dir = mkdtempSync(path.join(os.tmpdir(), 'sarai-storm-'));
    [ttsPort, asrPort, httpPort] = [await freePort(), await freePort(), await freePort()];
    const config = path.join(dir, 'sarai.yaml');
    writeFileSync(
      config,
      JSON.stringify({
        data_dir: path.join(dir, 'data'),
        models_dir: path.join(dir, 'models'),
        mqtt: { url: broker.url },
        http: { host: '127.0.0.1', port: httpPort },
        wyoming: { host: '127.0.0.1', asr_port: asrPort, tts_port: ttsPort, conversation: false, max_connections: MAX_CONNECTIONS, idle_timeout_s: 3, event_timeout_s: 2 },
        models: { tts: { backend: 'espeak', voice: 'en-us' } },
      }),
    );
    child = spawn(path.resolve('node_modules/.bin/tsx'), ['src/cli.ts', 'run', '-c', config], { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const deadline = Date.now() + 90_000;
    for (;;) {
      try {
        await describeMs(ttsPort);
        await describeMs(asrPort);
        break;
      } catch (err) {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`bridge did not serve Wyoming: ${String(err)}\n${stderr}`);
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  });

  afterAll(async () => {
    if (child?.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    await broker?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const alive = (): void => expect(child.exitCode, `bridge exited:\n${stderr}`).toBeNull();

  it('survives resets when refused, mid-header, mid-payload and mid-reply, over Wyoming and HTTP', async () => {
    // refused or evicted: more clients than slots, each reset after its error event arrived
    const crowd: Promise<void>[] = [];
    for (let i = 0; i < MAX_CONNECTIONS * 3; i++) crowd.push(resetAfter(ttsPort, (s) => received(s, 1, 5_000).catch(() => undefined)).catch(() => undefined));
    await Promise.all(crowd);
    await new Promise((r) => setTimeout(r, 500)); // let a crash, if any, happen before we look
    alive();
    // mid-header, mid-payload (declared 4096 bytes, sent 10), mid-reply (a long synthesis)
    await resetAfter(ttsPort, (s) => void s.write('{"type":"synth'));
    await resetAfter(asrPort, (s) => void s.write(Buffer.concat([Buffer.from('{"type":"audio-chunk","payload_length":4096}\n'), Buffer.alloc(10)])));
    await resetAfter(ttsPort, async (s) => {
      const text = 'The garage door has been open for twenty minutes and the porch light is still on. '.repeat(6);
      const data = Buffer.from(JSON.stringify({ text }));
      s.write(Buffer.concat([Buffer.from(`${JSON.stringify({ type: 'synthesize', data_length: data.length })}\n`), data]));
      await received(s, 20_000);
    });
    // the same over HTTP: mid-header, mid-body, mid-reply
    await resetAfter(httpPort, (s) => void s.write('POST /api/try/ask HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\ncontent-length: 4096\r\n\r\n{"text":"'));
    await resetAfter(httpPort, (s) => void s.write('GET /healthz HTTP/1.1\r\nHo'));
    await resetAfter(httpPort, async (s) => {
      s.write('GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n');
      await received(s, 1);
    });
    alive();
    expect(await describeMs(ttsPort)).toBeLessThan(1_000);
    alive();
  });

  it('idle and stalled clients cannot hold the slots: a new client is served within a second, and they are timed out', async () => {
    const idle = await Promise.all(Array.from({ length: 10 * MAX_CONNECTIONS }, () => RawWyomingClient.connect(ttsPort)));
    // a client that announces a payload and sends less, holding a slot
    const stalled = await RawWyomingClient.connect(asrPort);
    stalled.sendRaw(Buffer.concat([Buffer.from('{"type":"audio-chunk","payload_length":4096}\n'), Buffer.alloc(10)]));
    expect(await describeMs(ttsPort)).toBeLessThan(1_000);
    const err = await stalled.waitFor('error', 20_000);
    expect(err.data).toMatchObject({ code: 'timeout' });
    expect(String(err.data['text'])).toMatch(/event not completed within 2 s/);
    await stalled.waitClosed(10_000);
    // the idle ones: evicted for newcomers, or timed out, each told why and closed
    for (const c of idle) {
      const e = await c.waitFor('error', 20_000);
      expect(['evicted', 'busy', 'timeout']).toContain(e.data['code']);
      await c.waitClosed(10_000);
    }
    expect(idle.filter((c) => c.events.some((e) => e.data['code'] === 'timeout')).length).toBeGreaterThan(0);
    alive();
    expect(await describeMs(ttsPort)).toBeLessThan(1_000);
  });
});

describe('when every slot is busy working, a newcomer is refused with busy, and may reset safely', () => {
  it('refuses, survives the reset, and serves again once a slot frees', async () => {
    let started = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const errors: unknown[] = [];
    const server = new WyomingServer({
      kind: 'tts', host: '127.0.0.1', port: 0, maxConnections: 2, maxUtteranceS: 10, maxTextChars: 100, log: createLogger('silent'),
      info: { tts: [] }, onError: (e) => errors.push(e),
      // a synthesis that takes as long as the test wants: the slot is busy, not idle
      engine: { transcribe: () => Promise.reject(new Error('no')), synthesize: async () => (started++, await gate, { sampleRate: 16_000, samples: new Float32Array(160) }) },
    });
    await server.start();
    try {
      const busy = await Promise.all([RawWyomingClient.connect(server.port), RawWyomingClient.connect(server.port)]);
      for (const c of busy) c.send('synthesize', { text: 'hello' });
      await expect.poll(() => started, { timeout: 10_000 }).toBe(2); // both slots are working
      const third = await RawWyomingClient.connect(server.port);
      expect((await third.waitFor('error')).data).toMatchObject({ code: 'busy' });
      await resetAfter(server.port, () => undefined); // another refused one, reset at once
      third.close();
      release();
      for (const c of busy) await c.waitFor('audio-stop');
      for (const c of busy) c.close();
      await expect.poll(() => server.connections, { timeout: 5_000 }).toBe(0);
      expect(await describeMs(server.port)).toBeLessThan(1_000);
    } finally {
      await server.stop();
    }
  });
});
