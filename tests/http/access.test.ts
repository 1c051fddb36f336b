import http from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createAccessGuard, hostCannotRebind, INGRESS_PROXY_ADDRESS } from '../../src/http/access.js';
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
    expect(guard(req('127.0.0.1', { host: '127.0.0.1:8099' }), at('/'), route)).toBeUndefined();
  });

  it('standalone on 0.0.0.0: loopback peers pass, remote peers need the token (none configured: 403)', () => {
    const open = createAccessGuard({ addon: false, token: '', host: '0.0.0.0' });
    expect(open(req('::1', { host: 'localhost:8099' }), at('/'), route)).toBeUndefined();
    expect(open(req('10.0.0.5'), at('/'), route)?.status).toBe(403);
    const guarded = createAccessGuard({ addon: false, token: 'tok', host: '0.0.0.0' });
    expect(guarded(req('10.0.0.5'), at('/'), route)?.status).toBe(401);
    expect(guarded(req('10.0.0.5', { authorization: 'bearer tok' }), at('/'), route)).toBeUndefined();
  });
});

describe('Host check against DNS rebinding (unit)', () => {
  it('accepts only localhost and IP literals, with or without a port', () => {
    for (const host of ['localhost', 'localhost:8099', 'LOCALHOST:1', '127.0.0.1', '127.0.0.1:8099', '192.168.1.20:8099', '[::1]', '[::1]:8099', '[::ffff:127.0.0.1]:80', '[FE80::1]:8099']) {
      expect(hostCannotRebind(host), host).toBe(true);
    }
    for (const host of [undefined, '', 'evil.example', 'evil.example:8099', 'localhost.', 'a.localhost:8099', 'localhost.evil.example', '127.0.0.1.evil.example', '127.0.0.1:', '127.0.0.1:123456', '256.0.0.1', '1.2.3', '::1', '[::1', '[evil]:80', '[::1]x', 'localhost:80@evil.example']) {
      expect(hostCannotRebind(host), String(host)).toBe(false);
    }
  });

  it('standalone: a loopback-admitted request naming the server by a DNS name is refused unless it has the token', () => {
    for (const policy of [{ host: '127.0.0.1' }, { host: 'localhost' }, { host: '0.0.0.0' }]) {
      const open = createAccessGuard({ addon: false, token: '', ...policy });
      const refused = open(req('127.0.0.1', { host: 'evil.example:8099' }), at('/api/ask'), route);
      expect(refused?.status, policy.host).toBe(403);
      expect(refused?.message).toMatch(/http:\/\/127\.0\.0\.1.*http:\/\/localhost.*http\.token/);
      expect(open(req('127.0.0.1'), at('/'), route)?.status, 'no Host').toBe(403);
      const guarded = createAccessGuard({ addon: false, token: 'tok', ...policy });
      expect(guarded(req('::1', { host: 'evil.example', authorization: 'Bearer tok' }), at('/'), route)).toBeUndefined();
      expect(guarded(req('::1', { host: 'evil.example' }), at('/?token=tok'), route)).toBeUndefined();
      expect(guarded(req('::1', { host: 'evil.example', authorization: 'Bearer bad' }), at('/'), route)?.status).toBe(401);
      expect(guarded(req('::1', { host: 'evil.example' }), at('/'), route)?.status).toBe(403);
    }
  });

  it('add-on mode is unchanged: ingress passes whatever its Host, others need the token', () => {
    const guard = createAccessGuard({ addon: true, token: 'tok', host: '0.0.0.0' });
    expect(guard(req(INGRESS_PROXY_ADDRESS, { host: 'homeassistant.local:8123' }), at('/'), route)).toBeUndefined();
    expect(guard(req('192.168.1.20', { host: 'evil.example', authorization: 'Bearer tok' }), at('/'), route)).toBeUndefined();
    expect(guard(req('127.0.0.1', { host: '127.0.0.1:8099' }), at('/'), route)?.message).toMatch(/ingress/);
  });
});

interface Reply {
  status: number;
  body: string;
}

/** A GET with a Host header of our choosing (fetch will not let a test set it). */
function get(port: number, path: string, headers: Record<string, string>): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const r = http.request({ host: '127.0.0.1', port, path, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    r.on('error', reject);
    r.end();
  });
}

/** An HTTP/1.0 request with no Host header at all, written by hand. */
function getWithoutHost(port: number, path: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(`GET ${path} HTTP/1.0\r\n\r\n`));
    let raw = '';
    s.setEncoding('utf8');
    s.on('data', (c: string) => (raw += c));
    s.on('error', reject);
    s.on('end', () => resolve({ status: Number(/^HTTP\/1\.\d (\d+)/.exec(raw)?.[1] ?? 0), body: raw.slice(raw.indexOf('\r\n\r\n') + 4) }));
  });
}

describe('access guard on the running bridge (standalone, DNS rebinding)', () => {
  let t: TestApp | undefined;
  afterEach(async () => {
    await t?.stop();
    t = undefined;
  });

  it('refuses a rebound Host with 403 and says what to do; addresses and localhost pass; public routes stay public', async () => {
    t = await startTestApp({ mqtt: { embedded: { port: 0 } }, http: { host: '127.0.0.1', port: 0 } });
    const port = t.app.ctx.http.port;
    for (const path of ['/', '/api/system', '/api/voice']) {
      const r = await get(port, path, { host: 'evil.example:8099' });
      expect(r.status, path).toBe(403);
      const { error } = JSON.parse(r.body) as { error: string };
      expect(error).toContain('evil.example:8099');
      expect(error).toContain(`http://127.0.0.1:${port}`);
      expect(error).toContain(`http://localhost:${port}`);
      expect(error).toContain('http.token');
    }
    const noHost = await getWithoutHost(port, '/api/system');
    expect(noHost.status).toBe(403);
    expect(noHost.body).toMatch(/without a Host header/);
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, 'localhost']) {
      expect((await get(port, '/api/system', { host })).status, host).toBe(200);
    }
    expect((await fetch(`http://127.0.0.1:${port}/api/system`)).status).toBe(200);
    expect((await fetch(`http://localhost:${port}/api/system`)).status).toBe(200);
    expect((await get(port, '/metrics', { host: 'evil.example' })).status).toBe(200);
    expect((await getWithoutHost(port, '/metrics')).status).toBe(200);
  });

  it('a request presenting the configured token passes whatever its Host; a wrong token is 401', async () => {
    t = await startTestApp({ mqtt: { embedded: { port: 0 } }, http: { host: '127.0.0.1', port: 0, token: 'ui-token-123' } });
    const port = t.app.ctx.http.port;
    expect((await get(port, '/api/system', { host: 'evil.example:8099', authorization: 'Bearer ui-token-123' })).status).toBe(200);
    expect((await get(port, '/api/system?token=ui-token-123', { host: 'sarai.lan' })).status).toBe(200);
    expect((await get(port, '/api/system', { host: 'evil.example:8099', cookie: 'sarai_token=ui-token-123' })).status).toBe(200);
    expect((await get(port, '/api/system', { host: 'evil.example:8099', authorization: 'Bearer nope' })).status).toBe(401);
    expect((await get(port, '/api/system', { host: 'evil.example:8099' })).status).toBe(403);
    // by address, the token is still not needed on a loopback server
    expect((await get(port, '/api/system', { host: `127.0.0.1:${port}` })).status).toBe(200);
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
    // the Host check is for standalone mode only: here a DNS name with the token passes, and
    // without it the refusal is still the ingress one
    const port = t.app.ctx.http.port;
    expect((await get(port, '/api/system', { host: 'evil.example:8099', authorization: 'Bearer ui-token-123' })).status).toBe(200);
    const foreign = await get(port, '/api/system', { host: 'evil.example:8099' });
    expect(foreign.status).toBe(403);
    expect(foreign.body).toMatch(/ingress/);
  });
});
