/** PNG encode/decode: our screenshots round-trip exactly; hostile files are errors naming the problem. */
import { expect, test } from "bun:test";
import { deflateSync } from "node:zlib";
import { decodePng, differingPixels, encodePng, meanDifference } from "./png.ts";

function randomPixels(width: number, height: number) {
  const data = new Uint8Array(width * height * 4);
  crypto.getRandomValues(data);
  for (let i = 3; i < data.length; i += 4) data[i] = 255;
  return { width, height, stride: width * 4, data };
}

test("encodePng → decodePng gives the same pixels back", () => {
  const pixels = randomPixels(37, 19);
  const decoded = decodePng(encodePng(pixels));
  expect(decoded).toMatchObject({ width: 37, height: 19 });
  expect(Buffer.from(decoded.data).equals(Buffer.from(pixels.data))).toBe(true);
  expect(meanDifference(pixels, decoded, { x: 0, y: 0, width: 37, height: 19 })).toBe(0);
  expect(differingPixels(pixels, decoded, { x: 0, y: 0, width: 37, height: 19 })).toBe(0);
  // ...and both see a change: one channel of one pixel.
  const changed = { ...decoded, data: Uint8Array.from(decoded.data) };
  const at = (5 * 37 + 7) * 4 + 1;
  changed.data[at] = changed.data[at]! < 128 ? changed.data[at]! + 100 : changed.data[at]! - 100;
  expect(differingPixels(pixels, changed, { x: 0, y: 0, width: 37, height: 19 })).toBe(1);
  expect(differingPixels(pixels, changed, { x: 8, y: 0, width: 29, height: 19 })).toBe(0);
  expect(meanDifference(pixels, changed, { x: 7, y: 5, width: 1, height: 1 })).toBeCloseTo(100 / 3, 5);
});

test("every PNG row filter (0-4) and RGBA decode", () => {
  // A 3x2 RGBA image written by hand with filters 1 (sub) and 4 (paeth), checked against the expected bytes.
  const rows = [
    [1, 10, 20, 30, 255, 5, 5, 5, 0, 5, 5, 5, 0], // sub: (10,20,30), (15,25,35), (20,30,40)
    [4, 1, 1, 1, 0, 1, 1, 1, 0, 1, 1, 1, 0], // paeth over the row above
  ];
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(3, 0);
  ihdr.writeUInt32BE(2, 4);
  ihdr.set([8, 6, 0, 0, 0], 8);
  const chunk = (type: string, data: Buffer) => {
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    out.write(type, 4, "latin1");
    data.copy(out, 8);
    out.writeUInt32BE(Bun.hash.crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
    return out;
  };
  const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk("IHDR", ihdr), chunk("IDAT", deflateSync(Buffer.from(rows.flat()))), chunk("IEND", Buffer.alloc(0))]);
  const decoded = decodePng(png);
  const rgb = (x: number, y: number) => [...decoded.data.subarray(y * 12 + x * 4, y * 12 + x * 4 + 3)].reverse();
  expect([rgb(0, 0), rgb(1, 0), rgb(2, 0)]).toEqual([[10, 20, 30], [15, 25, 35], [20, 30, 40]]);
  // Paeth at (0,1): left 0, up (10,20,30), up-left 0 → predictor up; +1.
  expect(rgb(0, 1)).toEqual([11, 21, 31]);
});

test("hostile files are refused with a reason", () => {
  expect(() => decodePng(new Uint8Array([1, 2, 3]))).toThrow("not a PNG");
  const good = encodePng(randomPixels(4, 4));
  expect(() => decodePng(good.subarray(0, 40))).toThrow();
  const palette = Buffer.from(good);
  palette[8 + 8 + 9] = 3; // colour type 3 in IHDR (CRC not checked by this decoder; the type is)
  expect(() => decodePng(palette)).toThrow("unsupported PNG");
  const huge = Buffer.from(good);
  huge.writeUInt32BE(100_000, 16);
  huge.writeUInt32BE(100_000, 20);
  expect(() => decodePng(huge)).toThrow("too large");
});
