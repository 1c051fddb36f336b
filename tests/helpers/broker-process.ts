import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { MOSQUITTO_BIN } from './mosquitto.js';
import { freePort } from './ports.js';
import { requireProgram } from './require-program.js';

export interface BrokerProcessOptions {
  /** Keep sessions and queued messages on disk, saved every second (survives SIGKILL >1 s later). */
  persistence?: boolean;
  /** username -> password; anonymous clients are then refused. */
  users?: Record<string, string>;
  /** A TLS listener (mqtts://) with these PEM files; `requireCertificate`: clients must present one signed by `ca`. */
  tls?: { ca: string; cert: string; key: string; requireCertificate?: boolean };
}

/**
 * A real mosquitto a fault test can SIGKILL and start again on the same port with the same
 * state directory: what a broker crash and restart look like to the bridge.
 */
export class BrokerProcess {
  private child?: ChildProcess;
  private stderr = '';

  private constructor(
    readonly port: number,
    /** Its config, password file and persistence database (mosquitto.db). */
    readonly dir: string,
    private readonly conf: string,
    readonly url: string,
  ) {}

  static async start(opts: BrokerProcessOptions = {}): Promise<BrokerProcess> {
    const port = await freePort();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sarai-broker-'));
    const lines = [`listener ${port} 127.0.0.1`, 'set_tcp_nodelay true', 'message_size_limit 67108864', 'max_queued_messages 5000'];
    // started as root, mosquitto drops to its own user: it must read its files (and write its
    // database) here
    chmodSync(dir, opts.persistence ? 0o777 : 0o755);
    if (opts.persistence) lines.push('persistence true', `persistence_location ${dir}/`, 'autosave_interval 1');
    else lines.push('persistence false');
    if (opts.users) {
      const pw = path.join(dir, 'passwords');
      writeFileSync(pw, '');
      for (const [user, pass] of Object.entries(opts.users)) {
        const r = spawnSync('mosquitto_passwd', ['-b', pw, user, pass], { encoding: 'utf8' });
        if (r.status !== 0) throw new Error(`mosquitto_passwd failed: ${r.stderr}`);
      }
      chmodSync(pw, 0o644);
      lines.push('allow_anonymous false', `password_file ${pw}`);
    } else {
      lines.push('allow_anonymous true');
    }
    if (opts.tls) {
      lines.push(`cafile ${opts.tls.ca}`, `certfile ${opts.tls.cert}`, `keyfile ${opts.tls.key}`);
      if (opts.tls.requireCertificate) lines.push('require_certificate true');
    }
    const conf = path.join(dir, 'mosquitto.conf');
    writeFileSync(conf, lines.join('\n') + '\n');
    const b = new BrokerProcess(port, dir, conf, `${opts.tls ? 'mqtts' : 'mqtt'}://127.0.0.1:${port}`);
    await b.launch();
    return b;
  }

  get running(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  private async launch(): Promise<void> {
    const bin = requireProgram(MOSQUITTO_BIN) ? MOSQUITTO_BIN : 'mosquitto';
    this.stderr = '';
    const child = spawn(bin, ['-c', this.conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr?.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.child = child;
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      if (!this.running) throw new Error(`mosquitto exited at start:\n${this.stderr}`);
      const ok = await new Promise<boolean>((resolve) => {
        const s = net.connect(this.port, '127.0.0.1');
        s.once('connect', () => (s.destroy(), resolve(true)));
        s.once('error', () => resolve(false));
      });
      if (ok) return;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`mosquitto did not listen on ${this.port}:\n${this.stderr}`);
  }

  /** SIGKILL: no goodbye to clients, nothing saved since the last autosave. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  }

  /** Starts it again on the same port with the same config and state directory. */
  async restart(): Promise<void> {
    if (this.running) await this.kill();
    await this.launch();
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (child && this.running) {
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
