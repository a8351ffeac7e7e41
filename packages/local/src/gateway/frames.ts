/**
 * Watches the raw bytes a client sends and reports a data frame larger than API Gateway's frame limit
 * (32 KB). `ws`'s `maxPayload` bounds whole messages only, so a message split into small frames passes
 * while one oversized frame must close the connection with 1009. Only frame headers are decoded;
 * payload bytes are skipped by counting, so the cost per chunk is a few comparisons.
 */
export class FrameSizeGuard {
  private readonly header = Buffer.alloc(14);
  private headerLength = 0;
  private headerNeeded = 2;
  private lengthKnown = false;
  private payloadLeft = 0;

  constructor(private readonly maxFrameBytes: number) {}

  /** Feeds the next chunk; true as soon as a data frame over the limit has been announced. */
  push(chunk: Buffer): boolean {
    let offset = 0;
    while (offset < chunk.length) {
      if (this.payloadLeft > 0) {
        const skipped = Math.min(this.payloadLeft, chunk.length - offset);
        this.payloadLeft -= skipped;
        offset += skipped;
        continue;
      }
      while (this.headerLength < this.headerNeeded && offset < chunk.length) {
        this.header[this.headerLength++] = chunk[offset++] as number;
      }
      if (this.headerLength < this.headerNeeded) return false;
      if (!this.lengthKnown) {
        const second = this.header[1] as number;
        const shortLength = second & 0x7f;
        const extended = shortLength === 126 ? 2 : shortLength === 127 ? 8 : 0;
        const mask = second & 0x80 ? 4 : 0;
        this.headerNeeded = 2 + extended + mask;
        this.lengthKnown = true;
        if (this.headerNeeded > this.headerLength) continue;
      }
      const opcode = (this.header[0] as number) & 0x0f;
      const payloadLength = this.payloadLength();
      this.headerLength = 0;
      this.headerNeeded = 2;
      this.lengthKnown = false;
      this.payloadLeft = payloadLength;
      // Opcodes 0-7 are data frames (continuation, text, binary); control frames are capped by the protocol.
      if (opcode < 0x08 && payloadLength > this.maxFrameBytes) return true;
    }
    return false;
  }

  private payloadLength(): number {
    const shortLength = (this.header[1] as number) & 0x7f;
    if (shortLength === 126) return this.header.readUInt16BE(2);
    if (shortLength === 127) return this.header.readUInt32BE(2) * 2 ** 32 + this.header.readUInt32BE(6);
    return shortLength;
  }
}
