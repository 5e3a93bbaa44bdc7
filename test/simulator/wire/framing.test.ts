import { BSON } from 'bson';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ReplicaSetHandle, startReplicaSet } from '../../../simulator/index.js';
import { FrameReader } from '../../../simulator/wire/frame-reader.js';
import {
  decodeMessage,
  MSG_EXHAUST_ALLOWED,
  OP_MSG,
  OP_REPLY,
  WireProtocolError,
} from '../../../simulator/wire/protocol.js';
import { MSG_MORE_TO_COME, RawClient } from './raw-client.js';

function frameOf(length: number, fill: number): Buffer {
  const frame = Buffer.alloc(length, fill);
  frame.writeInt32LE(length, 0);
  return frame;
}

describe('FrameReader', () => {
  it('reassembles a frame split across chunks and splits coalesced frames', () => {
    const reader = new FrameReader();
    const first = frameOf(40, 1);
    const second = frameOf(24, 2);
    const third = frameOf(30, 3);
    expect(reader.push(first.subarray(0, 3))).toEqual([]);
    expect(reader.push(first.subarray(3, 20))).toEqual([]);
    const joined = Buffer.concat([first.subarray(20), second, third.subarray(0, 10)]);
    const frames = reader.push(joined);
    expect(frames.map((frame) => frame.length)).toEqual([40, 24]);
    expect(frames[0]!.equals(first)).toBe(true);
    expect(reader.push(third.subarray(10))[0]!.equals(third)).toBe(true);
  });

  it('rejects a length above maxMessageSizeBytes', () => {
    const header = Buffer.alloc(4);
    header.writeInt32LE(49_000_000, 0);
    expect(() => new FrameReader().push(header)).toThrow(WireProtocolError);
  });
});

describe('OP_MSG decoding', () => {
  it('folds kind-1 document sequences into the body as arrays', () => {
    const body = BSON.serialize({ insert: 'c', $db: 'test' });
    const docs = [BSON.serialize({ _id: 1 }), BSON.serialize({ _id: 2 })];
    const name = Buffer.from('documents\0');
    const sequenceSize = 4 + name.length + docs[0]!.length + docs[1]!.length;
    const frame = Buffer.alloc(16 + 4 + 1 + body.length + 1 + sequenceSize);
    frame.writeInt32LE(frame.length, 0);
    frame.writeInt32LE(7, 4);
    frame.writeInt32LE(OP_MSG, 12);
    frame.writeUInt32LE(MSG_EXHAUST_ALLOWED, 16);
    let offset = 20;
    frame.writeUInt8(0, offset++);
    frame.set(body, offset);
    offset += body.length;
    frame.writeUInt8(1, offset++);
    frame.writeInt32LE(sequenceSize, offset);
    frame.set(name, offset + 4);
    frame.set(docs[0]!, offset + 4 + name.length);
    frame.set(docs[1]!, offset + 4 + name.length + docs[0]!.length);
    const command = decodeMessage(frame);
    expect(command.db).toBe('test');
    expect(command.exhaustAllowed).toBe(true);
    expect(command.body).toEqual({ insert: 'c', $db: 'test', documents: [{ _id: 1 }, { _id: 2 }] });
  });
});

describe('member listener over TCP', () => {
  let replicaSet: ReplicaSetHandle;
  let client: RawClient;

  beforeAll(async () => {
    replicaSet = await startReplicaSet({ members: 1, noopIntervalMs: 0 });
    client = await RawClient.open(replicaSet.members[0]!.port);
  });

  afterAll(async () => {
    client?.close();
    await replicaSet?.stop();
  });

  it('answers the legacy OP_QUERY handshake with an OP_REPLY', async () => {
    const request = client.opQuery('admin.$cmd', {
      isMaster: 1,
      helloOk: true,
      client: { application: { name: 'raw' } },
    });
    client.write(request.frame);
    const reply = await client.nextReply();
    expect(reply.opCode).toBe(OP_REPLY);
    expect(reply.responseTo).toBe(request.requestId);
    expect(reply.document).toMatchObject({
      ok: 1,
      ismaster: true,
      helloOk: true,
      maxWireVersion: 21,
      setName: 'rs0',
    });
    expect(reply.document.compression).toBeUndefined();
  });

  it('parses a request written one byte at a time', async () => {
    const request = client.opMsg({ ping: 1, $db: 'admin' });
    for (const byte of request.frame) client.write(Buffer.from([byte]));
    const reply = await client.nextReply();
    expect(reply.responseTo).toBe(request.requestId);
    expect(reply.document.ok).toBe(1);
    expect(reply.document.operationTime).toBeDefined();
    expect(reply.document.$clusterTime.signature.hash.buffer.length).toBe(20);
  });

  it('sends no reply to a moreToCome (w:0) request', async () => {
    const unacknowledged = client.opMsg(
      { insert: 'c', documents: [{ _id: 1 }], writeConcern: { w: 0 }, $db: 'test' },
      MSG_MORE_TO_COME,
    );
    const ping = client.opMsg({ ping: 1, $db: 'admin' });
    client.write(Buffer.concat([unacknowledged.frame, ping.frame]));
    const reply = await client.nextReply();
    expect(reply.responseTo).toBe(ping.requestId);
  });

  it('answers an unknown command with CommandNotFound', async () => {
    const request = client.opMsg({ noSuchCommand: 1, $db: 'admin' });
    client.write(request.frame);
    const reply = await client.nextReply();
    expect(reply.document).toMatchObject({ ok: 0, code: 59, codeName: 'CommandNotFound' });
  });
});
