// The npm registry these machines reach serves only the linux-x64 builds of packages that ship one
// binary package per platform (biome, chdb, esbuild, ...). npm still lists the other platforms as
// optional dependencies in package-lock.json without an entry for them, and `npm ci` then refuses
// the lockfile as out of sync. This drops optional dependencies that have no entry in the lock.
// Run it after any `npm install` that changes the lockfile: `npm run lock:prune`.
import { readFileSync, writeFileSync } from 'node:fs';

const path = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(path, 'utf8'));
const present = new Set(Object.keys(lock.packages).map((key) => key.replace(/^.*node_modules\//, '')));
let pruned = 0;
for (const entry of Object.values(lock.packages)) {
  if (!entry.optionalDependencies) continue;
  for (const name of Object.keys(entry.optionalDependencies)) {
    if (present.has(name)) continue;
    delete entry.optionalDependencies[name];
    pruned += 1;
  }
  if (Object.keys(entry.optionalDependencies).length === 0) delete entry.optionalDependencies;
}
writeFileSync(path, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`lock:prune: removed ${pruned} optional dependencies this registry does not serve`);
