import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findUiDir, loadUiFiles } from '../../src/http/ui-routes.js';

describe('UI file map', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sarai-uimap-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('holds only regular top-level files of known types: no symlinks, folders, dotfiles or other types', () => {
    writeFileSync(path.join(dir, 'index.html'), '<!doctype html>');
    writeFileSync(path.join(dir, 'app.js'), 'export {}');
    writeFileSync(path.join(dir, '.hidden.js'), 'secret');
    writeFileSync(path.join(dir, 'notes.md'), 'not served');
    writeFileSync(path.join(dir, 'server.ts'), 'source');
    mkdirSync(path.join(dir, 'sub.css'));
    symlinkSync('/etc/passwd', path.join(dir, 'passwd.css'));
    symlinkSync(path.join(dir, 'app.js'), path.join(dir, 'alias.js'));
    const files = loadUiFiles(dir);
    expect([...files.keys()].sort()).toEqual(['app.js', 'index.html']);
    expect(files.get('app.js')?.type).toBe('text/javascript; charset=utf-8');
  });

  it('finds the shipped UI folder (src/http/ui under tsx)', () => {
    const shipped = loadUiFiles(findUiDir());
    for (const f of ['index.html', 'app.js', 'dom.js', 'timeline.js', 'voice.js', 'system.js', 'try.js', 'style.css', 'icon.svg']) expect(shipped.has(f), f).toBe(true);
  });
});
