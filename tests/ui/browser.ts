/**
 * Browser-test plumbing: Debian's chromium driven by playwright-core (headless, fresh
 * profile, no network besides loopback), and a reverse proxy that behaves like Home
 * Assistant ingress: it serves the add-on under /api/hassio_ingress/<token>/, strips that
 * prefix, adds X-Ingress-Path, and streams responses (so server-sent events pass through).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';
import { requireProgram } from '../helpers/require-program.js';

export const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export function haveChromium(): boolean {
  return requireProgram(CHROMIUM);
}

export interface TestBrowser {
  browser: Browser | BrowserContext;
  context: BrowserContext;
  close(): Promise<void>;
}

/** Chromium with a new empty profile; close() ends the browser and removes the profile. */
export async function launchBrowser(opts: { colorScheme?: 'light' | 'dark'; viewport?: { width: number; height: number } } = {}): Promise<TestBrowser> {
  const profile = mkdtempSync(path.join(os.tmpdir(), 'sarai-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    args: ARGS,
    headless: true,
    colorScheme: opts.colorScheme ?? 'light',
    viewport: opts.viewport ?? { width: 1100, height: 800 },
    deviceScaleFactor: 1,
  });
  return {
    browser: context,
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

export interface IngressProxy {
  /** e.g. http://127.0.0.1:PORT/api/hassio_ingress/abc123/ */
  url: string;
  prefix: string;
  /** Paths (after the prefix was stripped) the add-on was asked for. */
  forwarded: string[];
  stop(): Promise<void>;
}

/** The Supervisor's ingress proxy in miniature, in front of the bridge on `targetPort`. */
export async function startIngressProxy(targetPort: number, token = 'Xk3-ingress_T0ken'): Promise<IngressProxy> {
  const prefix = `/api/hassio_ingress/${token}`;
  const forwarded: string[] = [];
  const server = http.createServer((req, res) => {
    const url = req.url ?? '/';
    if (!url.startsWith(`${prefix}/`)) {
      res.writeHead(404).end('not an ingress URL');
      return;
    }
    const rest = url.slice(prefix.length);
    forwarded.push(rest);
    const headers = { ...req.headers, 'x-ingress-path': prefix, host: `127.0.0.1:${targetPort}` };
    const up = http.request({ host: '127.0.0.1', port: targetPort, method: req.method, path: rest, headers }, (upRes) => {
      res.writeHead(upRes.statusCode ?? 502, upRes.headers);
      upRes.pipe(res);
    });
    up.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    res.on('close', () => up.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}${prefix}/`,
    prefix,
    forwarded,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
