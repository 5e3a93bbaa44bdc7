import { MongoClient, MinKey, ObjectId, Long, Double, BSON } from 'mongodb';
import { startReplicaSet } from '../../../simulator/index.js';
const rs = await startReplicaSet({ noopIntervalMs: 200 });
const c = new MongoClient(rs.uri);
try {
  await c.connect();
  const admin = c.db('admin');
  console.log('hello', JSON.stringify(await admin.command({ hello: 1 })).slice(0, 600));
  console.log('build', (await admin.command({ buildInfo: 1 })).version);
  const st = await admin.command({ replSetGetStatus: 1 });
  console.log('status', JSON.stringify(st).slice(0, 1500));
  console.log('conn', JSON.stringify(await admin.command({ connectionStatus: 1, showPrivileges: true })).slice(0, 800));
  const ss = await admin.command({ serverStatus: 1 });
  console.log('ss keys', Object.keys(ss), JSON.stringify(ss.oplog ?? ss.repl ?? {}).slice(0, 400));
  try { console.log('oplog', await c.db('local').collection('oplog.rs').find({}).sort({ $natural: 1 }).limit(1).toArray()); } catch (e) { console.log('oplog err', (e as Error).message); }
  const coll = c.db('d').collection('m');
  await coll.insertMany([{ _id: 1 as any }, { _id: 2.5 as any }, { _id: 'a' as any }, { _id: new ObjectId() as any }, { _id: { x: 1 } as any }, { _id: true as any }]);
  console.log('lt 3', await coll.find({ _id: { $lt: 3 } } as any).toArray());
  console.log('gte minkey lt oid', await coll.find({ _id: { $gte: new MinKey(), $lt: new ObjectId('ffffffffffffffffffffffff') } } as any).toArray());
  console.log('type', await coll.find({ _id: { $type: ['string', 'bool'] } } as any).toArray());
  console.log('or', await coll.find({ $or: [{ _id: { $lt: 2 } }, { _id: { $type: ['string'] } }] } as any).sort({ _id: 1 }).hint({ _id: 1 }).toArray());
  console.log('ne', await coll.find({ _id: { $ne: 'a' } } as any).sort({ _id: 1 }).toArray());
  const raw = await coll.find({}, { raw: true }).toArray();
  console.log('raw', raw.map((r) => (r as any).length), (raw[0] as any).constructor.name);
  console.log('pv false', await coll.find({}, { promoteValues: false }).toArray());
  console.log('sample', await coll.aggregate([{ $sample: { size: 3 } }, { $project: { _id: 1 } }]).toArray());
  console.log('count', await coll.estimatedDocumentCount());
  const s = c.watch([{ $match: { 'ns.db': 'd' } }], { fullDocument: 'updateLookup', maxAwaitTimeMS: 200 });
  console.log('first', await s.tryNext(), s.resumeToken);
  await coll.insertOne({ _id: 77 as any, v: 1 });
  console.log('2', await s.tryNext());
  console.log('3', await s.tryNext(), s.resumeToken);
  await s.close();
} finally { await c.close(); await rs.stop(); }
