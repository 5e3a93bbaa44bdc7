/**
 * Cuts a TCP byte stream into whole wire-protocol frames: a chunk may hold part of a frame,
 * exactly one, or several coalesced ones.
 */
import { HEADER_BYTES, MAX_MESSAGE_SIZE_BYTES, WireProtocolError } from './protocol.js';

export class FrameReader {
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  /** Feeds a chunk; returns every frame it completes, in order. */
  push(chunk: Buffer): Buffer[] {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    const frames: Buffer[] = [];
    while (this.pendingBytes >= 4) {
      const head = this.peek(4);
      const length = head.readInt32LE(0);
      if (length < HEADER_BYTES || length > MAX_MESSAGE_SIZE_BYTES) {
        throw new WireProtocolError(`Invalid message length ${length}`);
      }
      if (this.pendingBytes < length) break;
      frames.push(this.take(length));
    }
    return frames;
  }

  private peek(bytes: number): Buffer {
    const first = this.pending[0]!;
    if (first.length >= bytes) return first;
    const joined = Buffer.concat(this.pending);
    this.pending = [joined];
    return joined;
  }

  private take(bytes: number): Buffer {
    const joined = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending);
    const frame = joined.subarray(0, bytes);
    const rest = joined.subarray(bytes);
    this.pending = rest.length > 0 ? [rest] : [];
    this.pendingBytes = rest.length;
    return frame;
  }
}
