import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** Where pulls record the sha256 a file was checked against (the hub's ETag or a pinned value). */
export const VERIFIED_FILE = '.verified.json';

export interface VerifiedEntry {
  sha256: string;
  bytes: number;
  /** what vouched for the sha256: a pinned value (config/manifest) or the hub's ETag */
  source: 'pinned' | 'hub-etag';
}

type Ledger = Record<string, VerifiedEntry>;

function read(dir: string): Ledger {
  const file = path.join(dir, VERIFIED_FILE);
  if (!existsSync(file)) return {};
  try {
    const doc = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    return doc && typeof doc === 'object' && !Array.isArray(doc) ? (doc as Ledger) : {};
  } catch {
    return {}; // a damaged ledger only loses the record; verify then says "no sha256 known"
  }
}

/** The recorded sha256 of `file` (absolute, inside `dir`), if a pull checked it. */
export function verifiedEntry(dir: string, file: string): VerifiedEntry | undefined {
  return read(dir)[path.relative(dir, file).split(path.sep).join('/')];
}

/** Records a checked file; written atomically (temp + rename). */
export function recordVerified(dir: string, file: string, entry: VerifiedEntry): void {
  const ledger = read(dir);
  ledger[path.relative(dir, file).split(path.sep).join('/')] = entry;
  const target = path.join(dir, VERIFIED_FILE);
  const tmp = `${target}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(ledger, null, 2)}\n`);
  renameSync(tmp, target);
}
