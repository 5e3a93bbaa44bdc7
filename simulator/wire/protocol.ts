/**
 * MongoDB wire protocol messages the simulator speaks: OP_MSG for every command, and the legacy
 * OP_QUERY/OP_REPLY pair that drivers still use for the first handshake `hello`.
 */
import { BSON, type Document } from 'bson';
import { decodeDocument } from './typed-decode.js';

export const OP_REPLY = 1;
export const OP_QUERY = 2004;
export const OP_COMPRESSED = 2012;
export const OP_MSG = 2013;

export const HEADER_BYTES = 16;
export const MAX_BSON_OBJECT_SIZE = 16 * 1024 * 1024;
export const MAX_MESSAGE_SIZE_BYTES = 48_000_000;

/** OP_MSG flag bits. */
export const MSG_CHECKSUM_PRESENT = 1 << 0;
export const MSG_MORE_TO_COME = 1 << 1;
export const MSG_EXHAUST_ALLOWED = 1 << 16;
/** OP_QUERY flag bit that lets a secondary answer. */
export const QUERY_SECONDARY_OK = 1 << 2;

/** Flag bits a client may set; any other bit set is a protocol error, as on the real server. */
const KNOWN_MSG_FLAGS = MSG_CHECKSUM_PRESENT | MSG_MORE_TO_COME | MSG_EXHAUST_ALLOWED;

export class WireProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WireProtocolError';
  }
}

export interface MessageHeader {
  messageLength: number;
  requestId: number;
  responseTo: number;
  opCode: number;
}

/** A command received from a client, whichever opcode carried it. */
export interface InboundCommand {
  header: MessageHeader;
  opCode: typeof OP_MSG | typeof OP_QUERY;
  /** Command body; OP_MSG document sequences are folded in as arrays. */
  body: Document;
  /** Database the command targets (`$db`, or the OP_QUERY namespace's database). */
  db: string;
  moreToCome: boolean;
  exhaustAllowed: boolean;
  /** OP_QUERY `secondaryOk` flag bit. */
  secondaryOkFlag: boolean;
}

export function readHeader(frame: Buffer): MessageHeader {
  return {
    messageLength: frame.readInt32LE(0),
    requestId: frame.readInt32LE(4),
    responseTo: frame.readInt32LE(8),
    opCode: frame.readInt32LE(12),
  };
}

export function decodeMessage(frame: Buffer): InboundCommand {
  const header = readHeader(frame);
  if (header.opCode === OP_MSG) return decodeOpMsg(header, frame);
  if (header.opCode === OP_QUERY) return decodeOpQuery(header, frame);
  if (header.opCode === OP_COMPRESSED) {
    throw new WireProtocolError('OP_COMPRESSED received although no compressor was negotiated');
  }
  throw new WireProtocolError(`Unsupported opCode ${header.opCode}`);
}

function readDocument(frame: Buffer, offset: number): { document: Document; end: number } {
  if (offset + 4 > frame.length) throw new WireProtocolError('BSON document runs past the message end');
  const size = frame.readInt32LE(offset);
  if (size < 5 || offset + size > frame.length || size > MAX_BSON_OBJECT_SIZE + 16 * 1024) {
    throw new WireProtocolError(`Invalid BSON document size ${size}`);
  }
  const document = decodeDocument(frame.subarray(offset, offset + size));
  return { document, end: offset + size };
}

function readCString(frame: Buffer, offset: number): { value: string; end: number } {
  const nul = frame.indexOf(0, offset);
  if (nul < 0) throw new WireProtocolError('Unterminated C string');
  return { value: frame.toString('utf8', offset, nul), end: nul + 1 };
}

function decodeOpMsg(header: MessageHeader, frame: Buffer): InboundCommand {
  const flags = frame.readUInt32LE(HEADER_BYTES);
  if ((flags & 0xffff & ~KNOWN_MSG_FLAGS) !== 0) {
    throw new WireProtocolError(`Unknown required OP_MSG flag bits ${flags.toString(16)}`);
  }
  const end = flags & MSG_CHECKSUM_PRESENT ? frame.length - 4 : frame.length;
  let offset = HEADER_BYTES + 4;
  let body: Document | undefined;
  const sequences: Array<[string, Document[]]> = [];
  while (offset < end) {
    const kind = frame.readUInt8(offset);
    offset += 1;
    if (kind === 0) {
      if (body) throw new WireProtocolError('OP_MSG has more than one body section');
      const read = readDocument(frame, offset);
      body = read.document;
      offset = read.end;
    } else if (kind === 1) {
      const sectionEnd = offset + frame.readInt32LE(offset);
      const name = readCString(frame, offset + 4);
      const documents: Document[] = [];
      let cursor = name.end;
      while (cursor < sectionEnd) {
        const read = readDocument(frame, cursor);
        documents.push(read.document);
        cursor = read.end;
      }
      if (cursor !== sectionEnd) throw new WireProtocolError('Document sequence size mismatch');
      sequences.push([name.value, documents]);
      offset = sectionEnd;
    } else {
      throw new WireProtocolError(`Unknown OP_MSG section kind ${kind}`);
    }
  }
  if (!body) throw new WireProtocolError('OP_MSG has no body section');
  for (const [name, documents] of sequences) {
    if (name in body) throw new WireProtocolError(`Duplicate field ${name} in body and document sequence`);
    body[name] = documents;
  }
  const db = body.$db;
  if (typeof db !== 'string' || db.length === 0) {
    throw new WireProtocolError('OP_MSG requires a $db string field');
  }
  return {
    header,
    opCode: OP_MSG,
    body,
    db,
    moreToCome: (flags & MSG_MORE_TO_COME) !== 0,
    exhaustAllowed: (flags & MSG_EXHAUST_ALLOWED) !== 0,
    secondaryOkFlag: false,
  };
}

function decodeOpQuery(header: MessageHeader, frame: Buffer): InboundCommand {
  const flags = frame.readInt32LE(HEADER_BYTES);
  const namespace = readCString(frame, HEADER_BYTES + 4);
  const query = readDocument(frame, namespace.end + 8).document;
  const dot = namespace.value.indexOf('.');
  const db = dot < 0 ? namespace.value : namespace.value.slice(0, dot);
  // Legacy clients may wrap the command in `$query` next to `$readPreference`.
  const body =
    typeof query.$query === 'object' && query.$query !== null
      ? {
          ...(query.$query as Document),
          ...(query.$readPreference ? { $readPreference: query.$readPreference } : {}),
        }
      : query;
  return {
    header,
    opCode: OP_QUERY,
    body,
    db,
    moreToCome: false,
    exhaustAllowed: false,
    secondaryOkFlag: (flags & QUERY_SECONDARY_OK) !== 0,
  };
}

function writeHeader(buffer: Buffer, requestId: number, responseTo: number, opCode: number): void {
  buffer.writeInt32LE(buffer.length, 0);
  buffer.writeInt32LE(requestId, 4);
  buffer.writeInt32LE(responseTo, 8);
  buffer.writeInt32LE(opCode, 12);
}

const SERIALIZE_OPTIONS = { ignoreUndefined: true } as const;

export function encodeOpMsg(
  requestId: number,
  responseTo: number,
  document: Document,
  moreToCome: boolean,
): Buffer {
  const body = BSON.serialize(document, SERIALIZE_OPTIONS);
  const buffer = Buffer.alloc(HEADER_BYTES + 4 + 1 + body.length);
  writeHeader(buffer, requestId, responseTo, OP_MSG);
  buffer.writeUInt32LE(moreToCome ? MSG_MORE_TO_COME : 0, HEADER_BYTES);
  buffer.writeUInt8(0, HEADER_BYTES + 4);
  buffer.set(body, HEADER_BYTES + 5);
  return buffer;
}

export function encodeOpReply(requestId: number, responseTo: number, document: Document): Buffer {
  const body = BSON.serialize(document, SERIALIZE_OPTIONS);
  const buffer = Buffer.alloc(HEADER_BYTES + 20 + body.length);
  writeHeader(buffer, requestId, responseTo, OP_REPLY);
  buffer.writeInt32LE(0, HEADER_BYTES); // responseFlags
  buffer.writeBigInt64LE(0n, HEADER_BYTES + 4); // cursorID
  buffer.writeInt32LE(0, HEADER_BYTES + 12); // startingFrom
  buffer.writeInt32LE(1, HEADER_BYTES + 16); // numberReturned
  buffer.set(body, HEADER_BYTES + 20);
  return buffer;
}
