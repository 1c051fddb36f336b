import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import yaml from 'js-yaml';
import { InputError } from '../core/errors.js';
import { checkRepoPath, REPO_ID } from './hub.js';

const here = path.dirname(fileURLToPath(import.meta.url));
/** models/manifest.yaml shipped with the package (from src/ under tsx and from dist/). */
export const DEFAULT_MANIFEST_PATH = path.resolve(here, '../../models/manifest.yaml');

export interface ManifestFile {
  /** path inside the repo (also inside the local folder of a transformers.js model) */
  path: string;
  /** lowercase hex, empty when nobody here has hashed the real file */
  sha256: string;
  /** bytes, 0 when unknown */
  size: number;
}

export interface ManifestRepo {
  repo: string;
  revision: string;
  files: ManifestFile[];
}

/** The line-up's files by repo id (see models/manifest.yaml). */
export class ModelManifest {
  constructor(readonly repos: ManifestRepo[] = []) {}

  repo(id: string): ManifestRepo | undefined {
    return this.repos.find((r) => r.repo === id);
  }

  file(repo: string, file: string): ManifestFile | undefined {
    return this.repo(repo)?.files.find((f) => f.path === file);
  }
}

/** Thrown when models/manifest.yaml is malformed (a packaging bug, not user input). */
export class ManifestError extends InputError {
  override readonly name: string = 'ManifestError';
}

/** Parses a manifest document; every repo id and file path is validated. */
export function parseManifest(text: string, source: string): ModelManifest {
  let doc: unknown;
  try {
    doc = yaml.load(text);
  } catch (err) {
    throw new ManifestError(`${source}: not YAML (${(err as Error).message})`);
  }
  const models = (doc as { models?: unknown } | null)?.models;
  if (!Array.isArray(models)) throw new ManifestError(`${source}: expected a "models:" list`);
  const repos = models.map((m: unknown, i): ManifestRepo => {
    const r = m as { repo?: unknown; revision?: unknown; files?: unknown };
    if (typeof r.repo !== 'string' || !REPO_ID.test(r.repo)) throw new ManifestError(`${source}: models[${i}].repo is not owner/name`);
    if (!Array.isArray(r.files) || r.files.length === 0) throw new ManifestError(`${source}: models[${i}].files is empty`);
    const files = r.files.map((f: unknown, j): ManifestFile => {
      const e = f as { path?: unknown; sha256?: unknown; size?: unknown };
      const where = `${source}: models[${i}].files[${j}]`;
      if (typeof e.path !== 'string') throw new ManifestError(`${where}.path is missing`);
      try {
        checkRepoPath(e.path);
      } catch (err) {
        throw new ManifestError(`${where}: ${(err as Error).message}`);
      }
      const sha256 = typeof e.sha256 === 'string' ? e.sha256.toLowerCase() : '';
      if (sha256 && !/^[a-f0-9]{64}$/.test(sha256)) throw new ManifestError(`${where}.sha256 is not 64 hex digits`);
      const size = typeof e.size === 'number' && Number.isInteger(e.size) && e.size >= 0 ? e.size : 0;
      return { path: e.path, sha256, size };
    });
    return { repo: r.repo, revision: typeof r.revision === 'string' && r.revision ? r.revision : 'main', files };
  });
  return new ModelManifest(repos);
}

/** Reads the manifest; a missing file is an empty manifest (the config alone still drives pulls). */
export function loadManifest(file: string = DEFAULT_MANIFEST_PATH): ModelManifest {
  if (!existsSync(file)) return new ModelManifest();
  return parseManifest(readFileSync(file, 'utf8'), file);
}
