import { isAbsolute, relative } from 'node:path';

/** A folder as the user would type it: relative to the working directory when below it, else absolute. */
export function shown(dir: string): string {
  const rel = relative(process.cwd(), dir);
  return rel === '' ? '.' : rel.startsWith('..') || isAbsolute(rel) ? dir : rel;
}
