/** Asks the deployment what it is, for `runOnRequirements`. */
import type { MongoClient } from 'mongodb';
import type { ServerFacts, TopologyName } from './requirements.js';

export async function gatherServerFacts(client: MongoClient): Promise<ServerFacts> {
  const admin = client.db('admin');
  const buildInfo = await admin.command({ buildInfo: 1 });
  const hello = await admin.command({ hello: 1 });
  let topology: TopologyName = 'single';
  if (hello.msg === 'isdbgrid') topology = 'sharded';
  else if (typeof hello.setName === 'string') topology = 'replicaset';
  return {
    version: String(buildInfo.version),
    topology,
    serverless: false,
    auth: false,
    csfle: false,
    serverParameter: async (name) => {
      try {
        const reply = await admin.command({ getParameter: 1, [name]: 1 });
        return reply[name];
      } catch {
        return undefined;
      }
    },
  };
}
