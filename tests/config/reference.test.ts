import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configKeyPaths } from '../../src/config/reference.js';
import { renderConfigDoc } from '../../scripts/config-doc.js';

describe('configuration reference', () => {
  it('docs/CONFIG.md is generated from the current schema (run npx tsx scripts/config-reference.ts)', () => {
    expect(readFileSync(new URL('../../docs/CONFIG.md', import.meta.url), 'utf8')).toBe(renderConfigDoc());
  });
  it('covers the contract keys', () => {
    const keys = configKeyPaths();
    for (const k of ['mqtt.url', 'mqtt.embedded.port', 'mqtt.max_payload_mb', 'http.port', 'cameras.<id>.rtsp_url', 'models.<id>.max_memory_mb', 'memory.budget_mb', 'wyoming.asr_port', 'log.level']) {
      expect(keys).toContain(k);
    }
  });
});
