/**
 * SIGTERM to a real `bin/sarai.js run` (what the Supervisor and systemd send) in the middle of
 * the two things that hold files and children: a model download and an RTSP clip capture.
 * Each time: exit code 0 within a deadline, every child the bridge had (ffmpeg, model hosts)
 * gone with it, no temporary file or folder left behind (the RTSP credentials file included),
 * and a `.part` that is an exact prefix of the file, which the next start resumes (Range) to a
 * verified whole. Needs dist/ (npm run build).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tinyLlamaFile } from '../fixtures/gguf/tiny-llama.js';
import { HubServer } from '../fixtures/hub-server.js';
import { OpenAIServer } from '../fixtures/openai-server.js';
import { makeClip, requireRtspServer, startTestCamera } from '../fixtures/rtsp/camera.js';
import { haveMosquitto, startMosquitto } from '../helpers/mosquitto.js';
import { MqttProbe } from '../helpers/mqtt-probe.js';
import { freePort } from '../helpers/ports.js';
import { requireProgram } from '../helpers/require-program.js';

const BIN = path.resolve('bin/sarai.js');
const work = mkdtempSync(path.join(os.tmpdir(), 'sarai-sigterm-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

interface Bridge {
  child: ChildProcess;
  out: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** bin/sarai.js run with this config file, its temp files in `tmp` (TMPDIR). */
function startBridge(cwd: string, config: string, tmp: string, env: Record<string, string> = {}): Bridge {
  const child = spawn(process.execPath, [BIN, 'run'], {
    cwd,
    env: { ...process.env, SARAI_CONFIG: config, TMPDIR: tmp, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return { child, out: () => out, exited };
}

/** Every descendant of `pid` now (children, their children...), from the process table. */
function descendants(pid: number): { pid: number; name: string }[] {
  const ps = spawnSync('ps', ['-eo', 'pid=,ppid=,comm='], { encoding: 'utf8' }).stdout;
  const rows = ps.split('\n').map((l) => /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(l)).filter((m): m is RegExpExecArray => !!m).map((m) => ({ pid: Number(m[1]), ppid: Number(m[2]), name: (m[3] ?? '').trim() }));
  const out: { pid: number; name: string }[] = [];
  const walk = (p: number) => {
    for (const r of rows) {
      if (r.ppid !== p) continue;
      out.push({ pid: r.pid, name: r.name });
      walk(r.pid);
    }
  };
  walk(pid);
  return out;
}

/** Running (a zombie, dead but not reaped by a container's init, counts as gone). */
const alive = (pid: number): boolean => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
};

async function until<T>(check: () => T | undefined | false, timeoutMs: number, label: string, out?: () => string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${label}${out ? `\n${out().slice(-3000)}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** SIGTERM, then: exit 0 within 20 s, and none of the children seen before it is left. */
async function terminate(b: Bridge, children: { pid: number; name: string }[], graceMs = 5_000): Promise<void> {
  const t0 = Date.now();
  b.child.kill('SIGTERM');
  const timer = setTimeout(() => b.child.kill('SIGKILL'), 20_000);
  const exit = await b.exited;
  clearTimeout(timer);
  expect(exit, b.out().slice(-3000)).toEqual({ code: 0, signal: null });
  expect(Date.now() - t0).toBeLessThan(20_000);
  // orphans are re-parented to init: look them up by pid, not under the (gone) bridge
  await until(() => children.every((c) => !alive(c.pid)), graceMs, `children ${JSON.stringify(children)} to be gone`);
}

const files = (dir: string): string[] => (existsSync(dir) ? readdirSync(dir, { recursive: true, encoding: 'utf8' }) : []);

describe('SIGTERM during a model download', () => {
  it('exits 0 at once, keeps a .part that is an exact prefix of the file, and the next start resumes it to a verified file', async () => {
    const src = path.join(work, 'hub-src');
    mkdirSync(src, { recursive: true });
    const gguf = readFileSync(tinyLlamaFile(path.join(src, 'tiny.gguf'), { nEmbd: 64 }));
    expect(gguf.length).toBeGreaterThan(4 * 65_536); // several slow chunks: time to be interrupted
    const hub = new HubServer();
    await hub.start();
    // 64 kB every 300 ms
    hub.put('acme/tiny-GGUF', 'tiny-Q8_0.gguf', { body: gguf, lfs: true, chunkDelayMs: 300 });
    const cwd = path.join(work, 'download');
    const tmp = path.join(cwd, 'tmp');
    mkdirSync(tmp, { recursive: true });
    const config = path.join(cwd, 'sarai.yaml');
    const [mqttPort, httpPort] = [await freePort(), await freePort()];
    writeFileSync(
      config,
      [
        'runtime: { allow_downloads: true, threads: 1 }',
        `mqtt: { embedded: { port: ${mqttPort} } }`,
        `http: { host: 127.0.0.1, port: ${httpPort} }`,
        'wyoming: { enabled: false }',
        'voice: { enabled: false }',
        'models:',
        '  tiny: { backend: llama, gguf_repo_id: acme/tiny-GGUF, gguf_file: tiny-Q8_0.gguf, context_length: 256 }',
        '',
      ].join('\n'),
    );
    const models = path.join(cwd, 'models');
    const partOf = () => files(models).find((f) => f.endsWith('tiny-Q8_0.gguf.part'));
    try {
      const first = startBridge(cwd, config, tmp, { HF_ENDPOINT: hub.url });
      // mid-transfer: the .part holds more than one chunk and less than the file
      const part = await until(() => {
        const f = partOf();
        const size = f ? statSync(path.join(models, f)).size : 0;
        return size > 65_536 && size < gguf.length ? f : undefined;
      }, 60_000, 'the download to be under way', first.out);
      const kids = descendants(first.child.pid as number);
      await terminate(first, kids);
      expect(first.out()).toMatch(/"signal":"SIGTERM"/);

      const kept = readFileSync(path.join(models, part));
      expect(kept.length).toBeGreaterThan(0);
      expect(kept.length).toBeLessThan(gguf.length);
      expect(kept.equals(gguf.subarray(0, kept.length)), 'the .part is a prefix of the file').toBe(true);
      expect(files(models).filter((f) => f.endsWith('tiny-Q8_0.gguf'))).toEqual([]); // never renamed unverified
      expect(files(tmp)).toEqual([]);

      // the next start continues from the .part and ends with the verified file
      const requestsBefore = hub.requests.length;
      const second = startBridge(cwd, config, tmp, { HF_ENDPOINT: hub.url });
      const whole = await until(() => files(models).find((f) => f.endsWith('tiny-Q8_0.gguf')), 90_000, 'the resumed download to finish', second.out);
      const resumed = hub.requests.slice(requestsBefore).find((r) => r.range !== undefined);
      expect(resumed?.range).toBe(`bytes=${kept.length}-`);
      const got = readFileSync(path.join(models, whole));
      expect(createHash('sha256').update(got).digest('hex')).toBe(createHash('sha256').update(gguf).digest('hex'));
      expect(partOf()).toBeUndefined();
      await terminate(second, descendants(second.child.pid as number));
      expect(files(tmp)).toEqual([]);
    } finally {
      await hub.stop();
    }
  }, 240_000);
});

describe('SIGTERM during a model load', () => {
  it('exits 0 at once; the load check child (a separate node process loading the GGUF) goes with it, and its temp folder', async () => {
    const cwd = path.join(work, 'load');
    const tmp = path.join(cwd, 'tmp');
    mkdirSync(path.join(cwd, 'models'), { recursive: true });
    mkdirSync(tmp, { recursive: true });
    tinyLlamaFile(path.join(cwd, 'models', 'tiny.gguf'));
    const config = path.join(cwd, 'sarai.yaml');
    writeFileSync(
      config,
      [
        'runtime: { allow_downloads: false, threads: 1 }',
        `mqtt: { embedded: { port: ${await freePort()} } }`,
        `http: { host: 127.0.0.1, port: ${await freePort()} }`,
        'wyoming: { enabled: false }',
        'voice: { enabled: false }',
        'models:',
        '  tiny: { backend: llama, gguf_file: tiny.gguf, context_length: 256, warm_up: true }',
        '',
      ].join('\n'),
    );
    const b = startBridge(cwd, config, tmp);
    // warm_up loads at start; a new file is first loaded in a child node process (runtime.probe_load)
    const loader = await until(() => {
      const l = descendants(b.child.pid as number).filter((c) => c.name.startsWith('node'));
      return l.length > 0 && files(tmp).some((f) => f.startsWith('sarai-probe-')) ? l : undefined;
    }, 60_000, 'the isolated load check to run', b.out);
    // gone with the bridge, not after finishing its load on its own
    await terminate(b, descendants(b.child.pid as number), 300);
    expect(loader.every((c) => !alive(c.pid))).toBe(true);
    expect(files(tmp), 'temporary files left behind').toEqual([]);
  }, 120_000);
});

const clipReady = requireProgram('ffmpeg') && requireRtspServer() && haveMosquitto();

describe.skipIf(!clipReady)('SIGTERM during an RTSP clip capture', () => {
  it('exits 0 at once, kills its ffmpeg, removes the RTSP credentials file, and says the clip was not finished', async () => {
    const cwd = path.join(work, 'clip');
    const tmp = path.join(cwd, 'tmp');
    mkdirSync(tmp, { recursive: true });
    const camera = await startTestCamera(makeClip(path.join(cwd, 'camera.mp4'), { seconds: 20 }), { user: 'viewer', password: 'Sup3r-secret' });
    const [broker, omni] = await Promise.all([startMosquitto(), OpenAIServer.start({ reply: '{"summary":"a car","description":"a car","objects":["car"],"alert":false,"severity":"low","event_type":"vehicle"}' })]);
    const probe = await MqttProbe.connect(broker.url, ['sarai/#']);
    const config = path.join(cwd, 'sarai.yaml');
    writeFileSync(
      config,
      [
        `mqtt: { url: "${broker.url}" }`,
        `http: { host: 127.0.0.1, port: ${await freePort()} }`,
        'runtime: { allow_downloads: false, threads: 1 }',
        'wyoming: { enabled: false }',
        'voice: { enabled: false }',
        'clip: { frame_size: 160, frame_rate: 1, max_frames: 4, socket_timeout_s: 5, timeout_margin_s: 8 }',
        'models:',
        `  omni: { backend: openai, url: "${omni.url}", model: Qwen2.5-Omni-7B, name: Qwen2.5-Omni-7B }`,
        'cameras:',
        `  front_door: { rtsp_url: "${camera.url('av')}" }`,
        '',
      ].join('\n'),
    );
    try {
      const b = startBridge(cwd, config, tmp);
      await probe.waitFor((m) => m.topic === 'sarai/status' && m.payload.toString() === 'online', 60_000, 'the bridge online');
      // the clip feature probes `ffmpeg -version` at start: publish once it is ready
      await until(() => b.out().includes('clip capture ready'), 60_000, 'clip capture ready', b.out);
      await probe.publish('sarai/camera/front_door/clip', JSON.stringify({ seconds: 15 }));
      // capturing: ffmpeg runs under the bridge with the credentials file it reads
      const ffmpeg = await until(() => {
        const l = descendants(b.child.pid as number).filter((c) => c.name === 'ffmpeg');
        return l.length > 0 && files(tmp).some((f) => f.startsWith('sarai-rtsp-')) ? l : undefined;
      }, 30_000, 'ffmpeg to capture', b.out);
      await new Promise((r) => setTimeout(r, 1000)); // well inside the 15 s capture
      await terminate(b, descendants(b.child.pid as number));
      expect(ffmpeg.every((c) => !alive(c.pid))).toBe(true);
      expect(files(tmp), 'temporary files left behind').toEqual([]);
      // the accepted clip is not dropped in silence
      const err = probe.messages.find((m) => m.topic === 'sarai/error' && m.payload.toString().includes('front_door'));
      expect(JSON.parse(err?.payload.toString() ?? '{}')).toMatchObject({ source: 'clip', topic: 'sarai/camera/front_door/clip', error: expect.stringMatching(/^the clip from camera front_door was not finished: SARAi is stopping/) });
      expect(probe.find((m) => m.topic === 'sarai/status' && m.payload.toString() === 'offline')).toBeDefined();
      expect(omni.requests.length).toBe(0);
    } finally {
      await probe.close();
      await Promise.all([camera.stop(), broker.stop(), omni.close()]);
    }
  }, 180_000);
});
