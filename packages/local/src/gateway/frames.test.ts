import { describe, expect, it } from "vitest";
import { FrameSizeGuard } from "./frames";

/** A masked client frame header for `length` payload bytes (payload itself not needed by the guard). */
function frame(opcode: number, length: number, fin = true): Buffer {
  const first = (fin ? 0x80 : 0) | opcode;
  const mask = Buffer.from([1, 2, 3, 4]);
  let header: Buffer;
  if (length < 126) header = Buffer.from([first, 0x80 | length]);
  else if (length < 65536) {
    header = Buffer.alloc(4);
    header[0] = first;
    header[1] = 0x80 | 126;
    header.writeUInt16BE(length, 2);
  } else {
    header = Buffer.alloc(10);
    header[0] = first;
    header[1] = 0x80 | 127;
    header.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
    header.writeUInt32BE(length % 2 ** 32, 6);
  }
  return Buffer.concat([header, mask, Buffer.alloc(length)]);
}

describe("FrameSizeGuard", () => {
  it("passes frames up to the limit, in any chunking", () => {
    const bytes = Buffer.concat([frame(1, 10), frame(2, 200), frame(0, 1000, false), frame(9, 5)]);
    const whole = new FrameSizeGuard(1000);
    expect(whole.push(bytes)).toBe(false);
    const byteByByte = new FrameSizeGuard(1000);
    for (const byte of bytes) expect(byteByByte.push(Buffer.from([byte]))).toBe(false);
  });

  it("reports a data frame over the limit as soon as its header arrives", () => {
    const guard = new FrameSizeGuard(1000);
    expect(guard.push(frame(1, 10))).toBe(false);
    const big = frame(2, 1001);
    expect(guard.push(big.subarray(0, 3))).toBe(false);
    expect(guard.push(big.subarray(3, 8))).toBe(true);
  });

  it("decodes 64-bit lengths", () => {
    expect(new FrameSizeGuard(70_000).push(frame(1, 70_001).subarray(0, 14))).toBe(true);
    expect(new FrameSizeGuard(70_001).push(frame(1, 70_001))).toBe(false);
  });

  it("counts continuation frames one by one (a fragmented message is fine)", () => {
    const guard = new FrameSizeGuard(100);
    const message = Buffer.concat([frame(1, 100, false), frame(0, 100, false), frame(0, 100)]);
    expect(guard.push(message)).toBe(false);
  });
});
