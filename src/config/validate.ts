import { Ajv, type ErrorObject } from 'ajv';
import { ConfigSchema, type Config } from './schema/index.js';

const ajv = new Ajv({ allErrors: true, verbose: true, useDefaults: true, strict: false, coerceTypes: false });
const check = ajv.compile<Config>(ConfigSchema);

/** Turns Ajv's errors into `path: message` lines, one per mistake, the way a user reads them. */
function describe(err: ErrorObject): string {
  const path = err.instancePath.replace(/^\//, '').replace(/\//g, '.') || '(top level)';
  switch (err.keyword) {
    case 'additionalProperties':
      if (err.parentSchema && 'patternProperties' in err.parentSchema) {
        return `${path}.${String(err.params['additionalProperty'])}: invalid id: use a-z, 0-9 and _`;
      }
      return `${path === '(top level)' ? '' : path + '.'}${String(err.params['additionalProperty'])}: unknown key`;
    case 'required':
      return `${path === '(top level)' ? '' : path + '.'}${String(err.params['missingProperty'])}: is required`;
    case 'enum':
      return `${path}: must be one of ${(err.params['allowedValues'] as unknown[]).join(', ')}`;
    case 'pattern':
      return `${path}: ${JSON.stringify(err.data)} does not match ${String(err.params['pattern'])}`;
    default:
      return `${path}: ${err.message ?? 'is invalid'}`;
  }
}

/** Unions of literals make Ajv report one error per branch; collapse them into one line. */
function collapse(errors: ErrorObject[]): string[] {
  const out: string[] = [];
  const literalBranches = new Map<string, unknown[]>();
  for (const e of errors) {
    if (e.keyword === 'const') {
      const list = literalBranches.get(e.instancePath) ?? [];
      list.push(e.params['allowedValue']);
      literalBranches.set(e.instancePath, list);
      continue;
    }
    if (e.keyword === 'anyOf' && literalBranches.has(e.instancePath)) continue;
    out.push(describe(e));
  }
  for (const [path, allowed] of literalBranches) {
    const p = path.replace(/^\//, '').replace(/\//g, '.');
    out.push(`${p}: must be one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}`);
  }
  return [...new Set(out)];
}

/** Validates in place (fills defaults); returns the problems, empty when the config is good. */
export function validateConfig(raw: unknown): { config: Config; problems: string[] } {
  const ok = check(raw);
  if (ok) return { config: raw as Config, problems: [] };
  return { config: raw as Config, problems: collapse(check.errors ?? []) };
}
