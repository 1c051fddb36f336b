import type http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { createAccessGuard, INGRESS_PROXY_ADDRESS } from '../../src/http/access.js';
import { startTestApp, type TestApp } from '../helpers/app.js';

/** Just enough of an IncomingMessage for the guard: the peer address and headers. */
function req(remoteAddress: string, headers: Record<string, string> = {}): http.IncomingMessage {
  return { socket: { remoteAddress }, headers } as unknown as http.IncomingMessage;
}
const route = { path: '/api/system', public: false };
const at = (path: string): URL => new URL(path, 'http://localhost');

describe('access guard (unit)', () => {
  it('add-on mode: lets the ingress proxy in (IPv4 and IPv4-mapped IPv6) and refuses everyone else', () => {
    const guard = createAccessGuard({ addon: true, token: '', host: '0.0.0.0' });
    expect(guard(req(INGRESS_PROXY_ADDRESS), at('/'), route)).toBeUndefined();
    expect(guard(req(`::ffff:${INGRESS_PROXY_ADDRESS}`), at('/'), route)).toBeUndefined();
    for (const peer of ['172.30.32.1', '192.168.1.20', '127.0.0.1', '::1']) {
      const refused = guard(req(peer), at('/api/system'), route);
      expect(refused?.status, peer).toBe(403);
      expect(refused?.message).toMatch(/ingress/);
    }
  });

  it('add-on mode with a token: the token (header, cookie or query) lets a LAN client in; a wrong one is 401', () => {
    const guard = createAccessGuard({ addon: true, token: 's3cret-token', host: '0.0.0.0' });
    expect(guard(req('192.168.1.20', { authorization: 'Bearer s3cret-token' }), at('/'), route)).toBeUndefined();
    expect(guard(req('192.168.1.20', { cookie: 'a=b; sarai_token=s3cret-token' }), at('/'), route)).toBeUndefined();
    expect(guard(req('192.168.1.20'), at('/?token=s3cret-token'), route)).toBeUndefined();
    expect(guard(req('192.168.1.20', { authorization: 'Bearer s3cret-tokeX' }), at('/'), route)?.status).toBe(401);
    expect(guard(req('192.168.1.20', { authorization: 'Bearer short' }), at('/'), route)?.status).toBe(401);
    expect(guard(req('192.168.1.20'), at('/'), route)?.status).toBe(403);
  });

  it('standalone on loopback: everyone who can connect is local, so no token is needed', () => {
    const guard = createAccessGuard({ addon: false, token: '', host: '127.0.0.1' });
    expect(guard(req('127.0.0.1'), at('/'), route)).toBeUndefined();
  });

  it('standalone on 0.0.0.0: loopback peers pass, remote peers need the token (none configured: 403)', () => {
    const open = createAccessGuard({ addon: false, token: '', host: '0.0.0.0' });
    expect(open(req('::1'), at('/'), route)).toBeUndefined();
    expect(open(req('10.0.0.5'), at('/'), route)?.status).toBe(403);
    const guarded = createAccessGuard({ addon: false, token: 'tok', host: '0.0.0.0' });
    expect(guarded(req('10.0.0.5'), at('/'), route)?.status).toBe(401);
    expect(guarded(req('10.0.0.5', { authorization: 'bearer tok' }), at('/'), route)).toBeUndefined();
  });
});

describe('access guard on the running bridge (add-on mode)', () => {
  let t: TestApp | undefined;
  afterEach(async () => {
    delete process.env['SUPERVISOR_TOKEN'];
    await t?.stop();
    t = undefined;
  });

  it('refuses UI and API requests that do not come through ingress; health, metrics stay public', async () => {
    process.env['SUPERVISOR_TOKEN'] = 'supervisor-test-token';
    t = await startTestApp({ mqtt: { embedded: { port: 0 } }, http: { host: '127.0.0.1', port: 0, token: 'ui-token-123' } });
    const base = `http://127.0.0.1:${t.app.ctx.http.port}`;
    for (const path of ['/', '/ui/app.js', '/api/system', '/api/stream', '/api/voice']) {
      const r = await fetch(`${base}${path}`);
      expect(r.status, path).toBe(403);
      expect(((await r.json()) as { error: string }).error).toMatch(/ingress/);
    }
    expect((await fetch(`${base}/healthz`)).status).not.toBe(403);
    expect((await fetch(`${base}/metrics`)).status).toBe(200);
    // the configured token still works from outside ingress
    const ok = await fetch(`${base}/api/system`, { headers: { authorization: 'Bearer ui-token-123' } });
    expect(ok.status).toBe(200);
    const wrong = await fetch(`${base}/api/system`, { headers: { authorization: 'Bearer nope' } });
    expect(wrong.status).toBe(401);
    // opening the UI with ?token= once sets an HttpOnly cookie the API calls then carry
    const page = await fetch(`${base}/?token=ui-token-123`);
    expect(page.status).toBe(200);
    const cookie = page.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(/^sarai_token=ui-token-123;.*HttpOnly/);
    const withCookie = await fetch(`${base}/api/system`, { headers: { cookie: cookie.split(';')[0] ?? '' } });
    expect(withCookie.status).toBe(200);
  });
});
