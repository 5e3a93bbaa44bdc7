/**
 * The paths of a table's typed columns and excluded fields as a trie the transcoder walks while it
 * writes `doc` (docs/table-schema.md, "Typed columns"): at each document it looks a key up among
 * the children of the node it holds, by the FNV-1a hash it already computes for every key, so a
 * key nobody asked for costs one map lookup.
 */

/** One path segment and what hangs below it. */
export interface ShapeNode {
  /** The segment's UTF-8 bytes (compared after a hash hit). */
  key: Uint8Array;
  /** Columns (their indexes in the shape) whose path ends here. */
  slots: number[];
  /** The value here is left out of `doc`. */
  excluded: boolean;
  /** Children by the hash of their key; several when hashes collide. */
  byHash: Map<number, ShapeNode[]>;
  /** Children by key text (the slow path of documents with quirks). */
  byKey: Map<string, ShapeNode>;
  /** For an array value: the node of element i (a numeric child merged with `everyElement`). */
  byIndex: Map<number, ShapeNode>;
  /** For an array value: what applies to every element (the exclusions below this node), or null. */
  everyElement: ShapeNode | null;
  /** Every column slot at or below this node (cleared when a document is written over). */
  subtreeSlots: number[];
  /** Whether anything below this node needs the transcoder to descend into the value. */
  descends: boolean;
  /** One bit per child, at its hash's low five bits: most keys no child has are ruled out here. */
  hashBits: number;
}

const encoder = new TextEncoder();

/** FNV-1a over bytes, as bson-transcode-write's scanKey computes it. */
export function keyHash(bytes: Uint8Array, a = 0, b = bytes.length): number {
  let hash = 0x811c9dc5 | 0;
  for (let i = a; i < b; i++) hash = Math.imul(hash ^ (bytes[i] as number), 0x01000193);
  return hash;
}

/** A path below a node: its segments, and the column it fills (-1: an excluded path). */
interface Rule {
  segments: readonly string[];
  slot: number;
}

/** A canonical array index: "0", or digits without a leading zero. */
const INDEX = /^(0|[1-9][0-9]{0,8})$/;

/** The trie of columns (`columnPaths[i]` is column i's path) and excluded paths. */
export function buildShapeTrie(columnPaths: readonly string[], excludedPaths: readonly string[]): ShapeNode {
  const rules: Rule[] = [
    ...columnPaths.map((path, slot) => ({ segments: path.split('.'), slot })),
    ...excludedPaths.map((path) => ({ segments: path.split('.'), slot: -1 })),
  ];
  return makeNode('', [], false, rules);
}

function makeNode(key: string, slots: number[], excluded: boolean, below: readonly Rule[]): ShapeNode {
  const node: ShapeNode = {
    key: encoder.encode(key),
    slots,
    excluded,
    byHash: new Map(),
    byKey: new Map(),
    byIndex: new Map(),
    everyElement: null,
    subtreeSlots: [...slots, ...below.filter((rule) => rule.slot >= 0).map((rule) => rule.slot)],
    descends: below.length > 0,
    hashBits: 0,
  };
  // Exclusions reach into every element of an array (`customers.ssn` of a list of customers).
  const everyElement = below.filter((rule) => rule.slot < 0 && !INDEX.test(rule.segments[0] as string));
  for (const [segment, group] of groupByFirst(below)) {
    const child = childNode(segment, group, []);
    node.byKey.set(segment, child);
    const hash = keyHash(child.key);
    node.byHash.set(hash, [...(node.byHash.get(hash) ?? []), child]);
    node.hashBits |= 1 << (hash & 31);
    if (INDEX.test(segment)) node.byIndex.set(Number(segment), childNode(segment, group, everyElement));
  }
  if (everyElement.length > 0) {
    const onlyThat = slots.length === 0 && !excluded && everyElement.length === below.length;
    node.everyElement = onlyThat ? node : makeNode('', [], false, everyElement);
  }
  return node;
}

/** The node of one segment from the rules that start with it, plus rules that apply inside it. */
function childNode(segment: string, group: readonly Rule[], inside: readonly Rule[]): ShapeNode {
  const ending = group.filter((rule) => rule.segments.length === 1);
  const deeper = group
    .filter((rule) => rule.segments.length > 1)
    .map((rule) => ({ segments: rule.segments.slice(1), slot: rule.slot }));
  return makeNode(
    segment,
    ending.filter((rule) => rule.slot >= 0).map((rule) => rule.slot),
    ending.some((rule) => rule.slot < 0),
    [...deeper, ...inside],
  );
}

function groupByFirst(rules: readonly Rule[]): Map<string, Rule[]> {
  const groups = new Map<string, Rule[]>();
  for (const rule of rules) {
    const first = rule.segments[0] as string;
    groups.set(first, [...(groups.get(first) ?? []), rule]);
  }
  return groups;
}

/** The child of `node` whose key is `src[a, b)` (hash `hash`), or null. */
export function matchKey(
  node: ShapeNode,
  src: Uint8Array,
  a: number,
  b: number,
  hash: number,
): ShapeNode | null {
  if ((node.hashBits & (1 << (hash & 31))) === 0) return null;
  const candidates = node.byHash.get(hash);
  if (candidates === undefined) return null;
  for (const child of candidates) {
    const key = child.key;
    if (key.length !== b - a) continue;
    let same = true;
    for (let i = 0; i < key.length && same; i++) same = key[i] === src[a + i];
    if (same) return child;
  }
  return null;
}
