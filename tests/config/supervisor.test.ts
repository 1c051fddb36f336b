import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configFromObject } from '../../src/config/load.js';
import { applySupervisorServices } from '../../src/config/supervisor.js';
import { createLogger } from '../../src/log/logger.js';
import { LogSink } from '../helpers/app.js';

/** Answers like the Supervisor's /services/mqtt endpoint (JSON envelope with result/data). */
describe('add-on: Supervisor services', () => {
  let server: http.Server;
  let url: string;
  const seen: { path?: string; auth?: string }[] = [];
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      seen.push({ path: req.url, auth: req.headers.authorization });
      if (req.headers.authorization !== 'Bearer addon-token') {
        res.writeHead(401).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ result: 'ok', data: { addon: 'core_mosquitto', host: 'core-mosquitto', port: 1883, ssl: false, protocol: '3.1.1', username: 'addons', password: 'pw' } }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('takes the broker and credentials from the Supervisor when the user gave none', async () => {
    const config = configFromObject({}, 'test');
    await applySupervisorServices(config, { SUPERVISOR_TOKEN: 'addon-token', SUPERVISOR_URL: url }, createLogger('error', new LogSink()));
    expect(seen.at(-1)).toEqual({ path: '/services/mqtt', auth: 'Bearer addon-token' });
    expect(config.mqtt).toMatchObject({ url: 'mqtt://core-mosquitto:1883', username: 'addons', password: 'pw' });
    expect(config.homeassistant).toEqual({ url: `${url}/core`, token: 'addon-token' });
  });

  it('keeps a broker the user configured, and falls back to embedded when the Supervisor says no', async () => {
    const mine = configFromObject({ mqtt: { url: 'mqtt://10.0.0.2:1883' } }, 'test');
    const before = seen.length;
    await applySupervisorServices(mine, { SUPERVISOR_TOKEN: 'addon-token', SUPERVISOR_URL: url }, createLogger('error', new LogSink()));
    expect(mine.mqtt.url).toBe('mqtt://10.0.0.2:1883');
    expect(seen.length).toBe(before);

    const sink = new LogSink();
    const denied = configFromObject({}, 'test');
    await applySupervisorServices(denied, { SUPERVISOR_TOKEN: 'wrong', SUPERVISOR_URL: url }, createLogger('warn', sink));
    expect(denied.mqtt.url).toBeUndefined();
    expect(JSON.stringify(sink.lines)).toContain('HTTP 401');
  });
});
