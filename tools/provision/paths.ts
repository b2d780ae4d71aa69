import { existsSync } from 'node:fs';
import path from 'node:path';

let root: string | undefined;

/** The folder holding package.json, found by walking up from this file. */
export function projectRoot(): string {
  if (root) return root;
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) return (root = dir);
    if (path.dirname(dir) === dir) throw new Error(`no package.json above ${__dirname}`);
  }
}

/** `<project root>/.temporal`: git-ignored cache of provisioned servers. */
export function cacheDir(): string {
  return path.join(projectRoot(), '.temporal');
}

/** A path relative to the project root, for log lines. */
export function shortPath(p: string): string {
  const rel = path.relative(projectRoot(), p);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : p;
}
