import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { InputError } from '../../core/errors.js';

type Converter = (schema: unknown) => string;
let converter: Promise<Converter> | undefined;
/** Grammars by schema text: the camera schema is the same on every snapshot. */
const cache = new Map<string, string>();

/**
 * GBNF for a JSON schema, from node-llama-cpp's converter (already a dependency; the text
 * backend uses the same one). llama.node's own `response_format` path builds a grammar around
 * the chat template that llama.cpp rejects for ChatML models ("error initializing grammar
 * sampler"), so the host gets a plain grammar instead. The converter's trailing-newline rule
 * is dropped: llama.node stops at the end of the grammar, not on blank lines.
 */
export async function jsonSchemaGrammar(schema: Record<string, unknown>): Promise<string> {
  converter ??= (async () => {
    const dir = path.dirname(createRequire(import.meta.url).resolve('node-llama-cpp'));
    const mod = (await import(pathToFileURL(path.join(dir, 'utils/gbnfJson/getGbnfGrammarForGbnfJsonSchema.js')).href)) as { getGbnfGrammarForGbnfJsonSchema: Converter };
    return mod.getGbnfGrammarForGbnfJsonSchema;
  })();
  const key = JSON.stringify(schema);
  const hit = cache.get(key);
  if (hit) return hit;
  const convert = await converter;
  try {
    const grammar = convert(schema).replace(/ "\\n\\n\\n\\n" \[\\n\]\*$/m, '');
    if (cache.size > 32) cache.clear();
    cache.set(key, grammar);
    return grammar;
  } catch (err) {
    throw new InputError(`unsupported JSON schema: ${err instanceof Error ? err.message : String(err)}`);
  }
}
