import { configReference } from '../src/config/reference.js';

/** The whole docs/CONFIG.md text. */
export function renderConfigDoc(): string {
  return [
    '# Configuration reference',
    '',
    'Generated from the schema in `src/config/schema/` by `npx tsx scripts/config-reference.ts`;',
    'do not edit by hand. One YAML file (`config/sarai.yaml` is the default; `--config PATH` or',
    '`SARAI_CONFIG` picks another; the add-on maps `/data/options.json` onto it). Unknown keys are',
    'errors; `sarai check-config` lists every problem as `path: message`. Any key can be set from',
    'the environment: `SARAI__MQTT__EMBEDDED__PORT=1884` sets `mqtt.embedded.port`.',
    '',
    configReference(),
    '',
  ].join('\n');
}
