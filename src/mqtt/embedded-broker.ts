import net from 'node:net';
import type { Aedes } from 'aedes';
import type { Logger } from '../log/logger.js';

/** The embedded broker could not listen; the message tells the user what to do. */
export class BrokerPortError extends Error {
  override readonly name = 'BrokerPortError';
}

/**
 * aedes (pure JS, MQTT 3.1.1) on a TCP port, so `npm start` needs no outside broker.
 * Port 0 picks a free port; `port` tells which one was bound.
 */
export class EmbeddedBroker {
  private aedes?: Aedes;
  private server?: net.Server;
  port = 0;

  constructor(
    private readonly host: string,
    private readonly wantedPort: number,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    // loaded only when the embedded broker is used: a bridge on an outside broker skips it
    const { Aedes: AedesBroker } = await import('aedes');
    const aedes = await AedesBroker.createBroker();
    const server = net.createServer(aedes.handle);
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(this.wantedPort, this.host, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      await new Promise<void>((r) => aedes.close(() => r()));
      throw new BrokerPortError(explainListenError(err as NodeJS.ErrnoException, this.host, this.wantedPort));
    }
    // client sockets are aedes' (it handles their errors); the listening socket is ours
    server.on('error', (err) => this.log.error({ module: 'broker', err }, 'embedded broker server error'));
    this.aedes = aedes;
    this.server = server;
    const addr = server.address();
    this.port = typeof addr === 'object' && addr ? addr.port : this.wantedPort;
    this.log.info({ module: 'broker', host: this.host, port: this.port }, 'embedded MQTT broker listening');
  }

  get url(): string {
    const host = this.host === '0.0.0.0' ? '127.0.0.1' : this.host.includes(':') ? `[${this.host}]` : this.host;
    return `mqtt://${host}:${this.port}`;
  }

  async stop(): Promise<void> {
    const { aedes, server } = this;
    this.aedes = undefined;
    this.server = undefined;
    if (server) {
      server.close();
    }
    if (aedes) await new Promise<void>((r) => aedes.close(() => r()));
  }
}

export function explainListenError(err: NodeJS.ErrnoException, host: string, port: number): string {
  if (err.code === 'EADDRINUSE') {
    return (
      `Port ${port} on ${host} is already in use, so SARAi cannot start its embedded MQTT broker there. ` +
      `Another broker (often mosquitto) probably holds it. Either use that broker: set mqtt.url to ` +
      `mqtt://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port} (plus mqtt.username/password if it needs them), ` +
      `or move the embedded broker: set mqtt.embedded.port to a free port ` +
      `(for example SARAI__MQTT__EMBEDDED__PORT=1884 npm start).`
    );
  }
  if (err.code === 'EACCES') {
    return `Not allowed to listen on ${host}:${port} (ports below 1024 need privileges); set mqtt.embedded.port to a port above 1024.`;
  }
  if (err.code === 'EADDRNOTAVAIL') {
    return `${host} is not an address of this machine; set mqtt.embedded.host to 127.0.0.1 or 0.0.0.0.`;
  }
  return `cannot listen on ${host}:${port}: ${err.message}`;
}
