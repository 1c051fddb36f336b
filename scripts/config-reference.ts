/**
 * Writes docs/CONFIG.md from the configuration schema, so the reference can never drift from
 * what the validator accepts (tests/config/reference.test.ts fails when it is stale).
 *   npx tsx scripts/config-reference.ts
 */
import { writeFileSync } from 'node:fs';
import { renderConfigDoc } from './config-doc.js';

writeFileSync(new URL('../docs/CONFIG.md', import.meta.url), renderConfigDoc());
console.log('wrote docs/CONFIG.md');
