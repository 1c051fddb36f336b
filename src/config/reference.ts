import { ConfigSchema } from './schema/index.js';

/** A JSON-schema node as TypeBox builds it (only the fields the reference reads). */
interface Node {
  type?: string;
  properties?: Record<string, Node>;
  patternProperties?: Record<string, Node>;
  items?: Node;
  anyOf?: Node[];
  const?: unknown;
  default?: unknown;
  description?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
}

function typeOf(n: Node): string {
  if (n.anyOf) return n.anyOf.map((b) => (b.const !== undefined ? JSON.stringify(b.const) : typeOf(b))).join(' \\| ');
  if (n.type === 'array') return `list of ${n.items ? typeOf(n.items) : 'any'}`;
  const lower = n.exclusiveMinimum !== undefined ? `> ${n.exclusiveMinimum}` : n.minimum !== undefined ? `>= ${n.minimum}` : undefined;
  const bounds = [lower, n.maximum !== undefined ? `<= ${n.maximum}` : undefined].filter((b) => b !== undefined);
  return `${n.type ?? 'any'}${bounds.length > 0 ? ` (${bounds.join(', ')})` : ''}`;
}

function shownDefault(n: Node): string {
  if (n.default === undefined) return '';
  if (typeof n.default === 'object' && n.default !== null && Object.keys(n.default).length === 0 && !Array.isArray(n.default)) return '';
  return `\`${JSON.stringify(n.default)}\``;
}

function walk(n: Node, path: string, rows: string[][]): void {
  if (n.properties) {
    for (const [k, child] of Object.entries(n.properties)) walk(child, path ? `${path}.${k}` : k, rows);
    return;
  }
  if (n.patternProperties) {
    const [, child] = Object.entries(n.patternProperties)[0] ?? [];
    if (child?.properties) {
      walk(child, `${path}.<id>`, rows);
      return;
    }
  }
  rows.push([`\`${path}\``, typeOf(n), shownDefault(n), (n.description ?? '').replace(/\|/g, '\\|')]);
}

/** Every configuration key with its type, default and description, as a Markdown table. */
export function configReference(): string {
  const rows: string[][] = [];
  walk(ConfigSchema as unknown as Node, '', rows);
  const lines = ['| key | type | default | meaning |', '|---|---|---|---|', ...rows.map((r) => `| ${r.join(' | ')} |`)];
  return lines.join('\n');
}

/** Leaf key paths (`mqtt.embedded.port`, `cameras.<id>.name`), for checks. */
export function configKeyPaths(): string[] {
  const rows: string[][] = [];
  walk(ConfigSchema as unknown as Node, '', rows);
  return rows.map((r) => (r[0] ?? '').replace(/`/g, ''));
}
