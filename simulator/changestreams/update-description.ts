/**
 * Turns a `$v: 2` oplog diff into a change event's `updateDescription`, walking the diff in the
 * server's order: updated and inserted fields, then removals, then sub-diffs (for arrays: the
 * truncation first, then element updates in index order).
 */
import type { Document } from 'bson';

export interface UpdateDescription {
  updatedFields: Document;
  removedFields: string[];
  truncatedArrays: { field: string; newSize: number }[];
  disambiguatedPaths: Document;
}

interface PathPart {
  name: string;
  isArrayIndex: boolean;
  /** Once a part is numeric-looking or dotted, the dotted path no longer names it unambiguously. */
  ambiguous: boolean;
}

class DescriptionBuilder {
  readonly description: UpdateDescription = {
    updatedFields: {},
    removedFields: [],
    truncatedArrays: [],
    disambiguatedPaths: {},
  };
  private readonly path: PathPart[] = [];

  push(name: string, isArrayIndex: boolean): void {
    const previousAmbiguous = this.path.at(-1)?.ambiguous ?? false;
    const numeric = !isArrayIndex && this.path.length > 0 && /^[0-9]+$/.test(name);
    const dotted = !isArrayIndex && !numeric && name.includes('.');
    this.path.push({ name, isArrayIndex, ambiguous: previousAmbiguous || numeric || dotted });
  }

  pop(): void {
    this.path.pop();
  }

  updated(name: string, value: unknown, isArrayIndex = false): void {
    this.push(name, isArrayIndex);
    this.description.updatedFields[this.dotted()] = value;
    this.recordAmbiguity();
    this.pop();
  }

  removed(name: string): void {
    this.push(name, false);
    this.description.removedFields.push(this.dotted());
    this.recordAmbiguity();
    this.pop();
  }

  truncated(newSize: number): void {
    this.description.truncatedArrays.push({ field: this.dotted(), newSize });
    this.recordAmbiguity();
  }

  private dotted(): string {
    return this.path.map((part) => part.name).join('.');
  }

  private recordAmbiguity(): void {
    if (!this.path.at(-1)?.ambiguous) return;
    this.description.disambiguatedPaths[this.dotted()] = this.path.map((part) =>
      part.isArrayIndex ? Number(part.name) : part.name,
    );
  }
}

function walkDocumentDiff(diff: Document, builder: DescriptionBuilder): void {
  for (const section of ['u', 'i', 'b'] as const) {
    const fields = diff[section] as Document | undefined;
    if (fields) for (const [name, value] of Object.entries(fields)) builder.updated(name, value);
  }
  const deletes = diff.d as Document | undefined;
  if (deletes) for (const name of Object.keys(deletes)) builder.removed(name);
  for (const [key, sub] of Object.entries(diff)) {
    if (!key.startsWith('s') || key.length < 2) continue;
    builder.push(key.slice(1), false);
    walkSubDiff(sub as Document, builder);
    builder.pop();
  }
}

function walkArrayDiff(diff: Document, builder: DescriptionBuilder): void {
  if (typeof diff.l === 'number') builder.truncated(diff.l);
  const entries = Object.entries(diff)
    .filter(([key]) => /^[us][0-9]+$/.test(key))
    .sort(([a], [b]) => Number(a.slice(1)) - Number(b.slice(1)));
  for (const [key, value] of entries) {
    const index = key.slice(1);
    if (key.startsWith('u')) {
      builder.updated(index, value, true);
    } else {
      builder.push(index, true);
      walkSubDiff(value as Document, builder);
      builder.pop();
    }
  }
}

function walkSubDiff(diff: Document, builder: DescriptionBuilder): void {
  if (diff.a === true) walkArrayDiff(diff, builder);
  else walkDocumentDiff(diff, builder);
}

export function describeUpdate(diff: Document): UpdateDescription {
  const builder = new DescriptionBuilder();
  walkDocumentDiff(diff, builder);
  return builder.description;
}

/** Applies a `$v: 2` diff to a copy of `before` (to compute post-images from pre-images). */
export function applyDiff(before: Document, diff: Document): Document {
  const out: Document = { ...before };
  const deletes = diff.d as Document | undefined;
  if (deletes) for (const name of Object.keys(deletes)) delete out[name];
  const updates = diff.u as Document | undefined;
  if (updates) for (const [name, value] of Object.entries(updates)) out[name] = value;
  const inserts = diff.i as Document | undefined;
  if (inserts) {
    // An insert always lands at the end, even when the field existed earlier in the document.
    for (const [name, value] of Object.entries(inserts)) {
      delete out[name];
      out[name] = value;
    }
  }
  for (const [key, sub] of Object.entries(diff)) {
    if (!key.startsWith('s') || key.length < 2) continue;
    const name = key.slice(1);
    out[name] = applySubDiff(out[name], sub as Document);
  }
  return out;
}

function applySubDiff(value: unknown, diff: Document): unknown {
  if (diff.a === true) {
    const array = Array.isArray(value) ? [...value] : [];
    if (typeof diff.l === 'number') array.length = diff.l;
    for (const [key, item] of Object.entries(diff)) {
      const match = /^([us])([0-9]+)$/.exec(key);
      if (!match) continue;
      const index = Number(match[2]);
      array[index] = match[1] === 'u' ? item : applySubDiff(array[index], item as Document);
    }
    for (let index = 0; index < array.length; index += 1) if (!(index in array)) array[index] = null;
    return array;
  }
  const base =
    value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Document) : {};
  return applyDiff(base, diff);
}
