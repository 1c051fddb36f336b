import { describe, expect, it } from 'vitest';
import { configFromObject } from '../../src/config/load.js';
import { connectionOptions, defaultClientId } from '../../src/mqtt/connection-options.js';

/** Which connections get a persistent session by default, and which never do. */
describe('MQTT session by default', () => {
  const opts = (raw: Record<string, unknown>, clustered = false) => connectionOptions(configFromObject({ mqtt: raw }, 'test').mqtt, '/data', 'test', '/', clustered);

  it('an external broker: a persistent session of a day, under a client id stable for the installation', () => {
    expect(opts({ url: 'mqtt://192.168.1.5:1883' })).toMatchObject({ sessionExpiryS: 86_400, clientId: defaultClientId('sarai', '/data') });
    expect(opts({ url: 'mqtt://192.168.1.5:1883', session_expiry_s: 600 }).sessionExpiryS).toBe(600);
    expect(opts({ url: 'mqtt://192.168.1.5:1883', session_expiry_s: 0 }).sessionExpiryS).toBe(0);
  });

  it('the embedded broker and cluster workers: always a clean session', () => {
    expect(opts({}).sessionExpiryS).toBe(0);
    expect(opts({ session_expiry_s: 600 }).sessionExpiryS).toBe(0);
    expect(opts({ url: 'mqtt://192.168.1.5:1883', session_expiry_s: 600 }, true).sessionExpiryS).toBe(0);
  });
});
