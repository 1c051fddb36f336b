import { Ajv, type ValidateFunction } from 'ajv';
import { BackendError, errorMessage, InputError } from '../core/errors.js';

const ajv = new Ajv({ allErrors: true, strict: false });
const compiled = new WeakMap<object, ValidateFunction>();

function validator(role: string, schema: Record<string, unknown>): ValidateFunction {
  let v = compiled.get(schema);
  if (!v) {
    try {
      v = ajv.compile(schema);
    } catch (err) {
      throw new InputError(`${role}: the JSON schema is invalid: ${errorMessage(err)}`);
    }
    compiled.set(schema, v);
  }
  return v;
}

/** Checks a schema compiles before it is sent (a bad schema is the caller's error, not the server's). */
export function checkSchema(role: string, schema: Record<string, unknown>): void {
  validator(role, schema);
}

/**
 * Parses a model's structured answer and checks it against the schema the request gave.
 * Servers do not all enforce `response_format`/`format`, so the answer is never trusted.
 */
export function parseJsonAnswer(role: string, text: string, schema: Record<string, unknown>): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new BackendError(`${role}: the answer is not valid JSON (it starts: ${JSON.stringify(text.slice(0, 80))})`);
  }
  const validate = validator(role, schema);
  if (!validate(value)) {
    const why = (validate.errors ?? []).slice(0, 3).map((e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}`).join('; ');
    throw new BackendError(`${role}: the answer did not match the JSON schema: ${why}`);
  }
  return value;
}
