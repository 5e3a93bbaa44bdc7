/**
 * Runs a simulated replica set until interrupted:
 *   tsx simulator/cli.ts --port 27017 --members 3 [--set rs0] [--flavor documentdb]
 * Members listen on consecutive ports starting at --port (0: free ports).
 * `--flavor documentdb` answers as Amazon DocumentDB (README.md, "DocumentDB flavour").
 */
import { parseArgs } from 'node:util';
import { startReplicaSet } from './index.js';

function positiveInteger(raw: string, name: string, allowZero = false): number {
  const value = Number(raw);
  if (!Number.isInteger(value) || value < (allowZero ? 0 : 1)) {
    throw new Error(`--${name} must be ${allowZero ? 'a non-negative' : 'a positive'} integer, got "${raw}"`);
  }
  return value;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '27017' },
      members: { type: 'string', default: '3' },
      set: { type: 'string', default: 'rs0' },
      flavor: { type: 'string', default: 'mongodb' },
    },
  });
  const flavor = values.flavor;
  if (flavor !== 'mongodb' && flavor !== 'documentdb')
    throw new Error(`--flavor must be mongodb or documentdb, got "${flavor}"`);
  const members = positiveInteger(values.members, 'members');
  const port = positiveInteger(values.port, 'port', true);
  const ports = port === 0 ? undefined : Array.from({ length: members }, (_, index) => port + index);
  const replicaSet = await startReplicaSet({
    members,
    setName: values.set,
    flavor,
    ...(ports ? { ports } : {}),
  });
  process.stdout.write(`Replica set ${replicaSet.setName} ready: ${replicaSet.uri}\n`);
  for (const member of replicaSet.members) process.stdout.write(`  ${member.name} ${member.state}\n`);
  const shutdown = () => {
    replicaSet.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
