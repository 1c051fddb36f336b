import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { MOSQUITTO_BIN, haveMosquitto } from '../helpers/mosquitto.js';
import { MqttProbe } from '../helpers/mqtt-probe.js';
import { freePort } from '../helpers/ports.js';
import { requireProgram } from '../helpers/require-program.js';

const ready = haveMosquitto() && requireProgram('mosquitto_passwd');

/** As root, mosquitto drops to its own user, which cannot read our 0600 password file. */
const ROOT = process.getuid?.() === 0 ? ['user root'] : [];

/** A real mosquitto that wants a user name and password from a password file. */
class PasswordBroker {
  private child?: ChildProcess;
  readonly dir = mkdtempSync(path.join(os.tmpdir(), 'sarai-auth-'));
  readonly passwords = path.join(this.dir, 'passwd');
  private readonly conf = path.join(this.dir, 'mosquitto.conf');

  constructor(readonly port: number) {
    writeFileSync(this.conf, [`listener ${port} 127.0.0.1`, 'allow_anonymous false', `password_file ${this.passwords}`, 'persistence false', ...ROOT, ''].join('\n'));
  }

  /** Sets the password file: `user:password` pairs, hashed by mosquitto_passwd. */
  setUsers(users: Record<string, string>): void {
    writeFileSync(this.passwords, '');
    chmodSync(this.passwords, 0o600);
    for (const [u, p] of Object.entries(users)) execFileSync('mosquitto_passwd', ['-b', this.passwords, u, p]);
  }

  async start(): Promise<void> {
    const child = spawn(MOSQUITTO_BIN, ['-c', this.conf], { stdio: 'ignore' });
    this.child = child;
    const deadline = Date.now() + 10_000;
    for (;;) {
      const ok = await new Promise<boolean>((r) => {
        const s = net.connect(this.port, '127.0.0.1', () => (s.destroy(), r(true)));
        s.once('error', () => r(false));
      });
      if (ok) return;
      if (Date.now() > deadline) throw new Error('mosquitto did not start');
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async stop(): Promise<void> {
    const c = this.child;
    if (!c || c.exitCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGTERM');
    await exited;
  }

  /** mosquitto re-reads its password file on SIGHUP. */
  reload(): void {
    this.child?.kill('SIGHUP');
  }
}

describe.skipIf(!ready)('MQTT credentials refused by the broker, then accepted again', { timeout: 120_000 }, () => {
  let broker: PasswordBroker;
  let app: TestApp;

  beforeAll(async () => {
    broker = new PasswordBroker(await freePort());
    broker.setUsers({ sarai: 'right', probe: 'probe' });
    await broker.start();
  });
  afterAll(async () => {
    await app?.stop();
    await broker?.stop();
    rmSync(broker.dir, { recursive: true, force: true });
  });

  it('starts with the UI up when the very first login is refused, and connects once the password works', async () => {
    broker.setUsers({ sarai: 'other', probe: 'probe' });
    broker.reload();
    const early = await Promise.race([
      startTestApp({ mqtt: { url: `mqtt://127.0.0.1:${broker.port}`, username: 'sarai', password: 'right', reconnect_max_ms: 1000 } }),
      new Promise<undefined>((r) => setTimeout(() => r(undefined), 30_000)),
    ]);
    if (!early) {
      broker.setUsers({ sarai: 'right', probe: 'probe' }); // let the stuck app in, so the next test starts clean
      broker.reload();
    }
    expect(early, 'start() must finish while the broker refuses the login').toBeDefined();
    const first = early as TestApp;
    try {
      const health = await fetch(`http://127.0.0.1:${first.app.ctx.http.port}/healthz`);
      expect(health.status).toBe(503);
      expect(first.app.ctx.mqtt.connected).toBe(false);
      broker.setUsers({ sarai: 'right', probe: 'probe' });
      broker.reload();
      await expect.poll(() => first.app.ctx.mqtt.connected, { timeout: 30_000 }).toBe(true);
    } finally {
      broker.setUsers({ sarai: 'right', probe: 'probe' });
      broker.reload();
      await first.stop();
    }
  });

  it('keeps retrying with backoff after "Not authorized", says so in the log and bridge state, and reconnects once the password works', async () => {
    app = await startTestApp({ mqtt: { url: `mqtt://127.0.0.1:${broker.port}`, username: 'sarai', password: 'right', reconnect_max_ms: 1000 } });
    const mqtt = app.app.ctx.mqtt;
    await expect.poll(() => mqtt.connected, { timeout: 20_000 }).toBe(true);

    // the broker restarts with a password file that no longer accepts the bridge
    broker.setUsers({ sarai: 'changed', probe: 'probe' });
    await broker.stop();
    await broker.start();
    await expect
      .poll(() => app.logs.lines.filter((l) => /credentials/.test(String(l['msg'])) && /Not authorized|Bad User Name or Password/i.test(String(l['err']))).length, { timeout: 30_000 })
      .toBeGreaterThanOrEqual(2); // refused, retried, refused again: it keeps trying
    expect(mqtt.connected).toBe(false);

    // the password is changed back: the bridge gets in without a restart
    broker.setUsers({ sarai: 'right', probe: 'probe' });
    broker.reload();
    await expect.poll(() => mqtt.connected, { timeout: 30_000 }).toBe(true);
    const probe = await MqttProbe.connect(`mqtt://probe:probe@127.0.0.1:${broker.port}`, ['sarai/bridge/state']);
    try {
      const state = await probe.waitForTopic('sarai/bridge/state', 30_000, (m) => {
        const s = JSON.parse(m.payload.toString()) as Record<string, unknown>;
        return s['status'] === 'online' && 'mqtt_credentials_refused_at' in s;
      });
      const s = JSON.parse(state.payload.toString()) as Record<string, unknown>;
      expect(Date.parse(String(s['mqtt_credentials_refused_at']))).toBeGreaterThan(Date.now() - 120_000);
      expect(String(s['last_error'])).toMatch(/refused the credentials/);
    } finally {
      await probe.close();
    }
  });
});
