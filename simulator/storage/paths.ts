/** Reading values at dotted paths the way queries and indexes see them. */
import type { Document } from 'bson';

/** Every value at a dotted path, descending through arrays of sub-documents; missing → []. */
export function valuesAtPath(doc: unknown, path: string): unknown[] {
  const parts = path.split('.');
  let current: unknown[] = [doc];
  for (const part of parts) {
    const next: unknown[] = [];
    for (const value of current) {
      if (Array.isArray(value)) {
        const index = Number(part);
        if (Number.isInteger(index) && String(index) === part) {
          if (index < value.length) next.push(value[index]);
        } else {
          for (const item of value) {
            if (item !== null && typeof item === 'object' && !Array.isArray(item) && part in item) {
              next.push((item as Document)[part]);
            }
          }
        }
      } else if (value !== null && typeof value === 'object' && part in (value as Document)) {
        next.push((value as Document)[part]);
      }
    }
    current = next;
  }
  return current;
}

/** The value at a dotted path without array expansion, or undefined. */
export function valueAtPath(doc: unknown, path: string): unknown {
  let current = doc;
  for (const part of path.split('.')) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Document)[part];
  }
  return current;
}
