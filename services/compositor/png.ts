/**
 * PNG encoding of a screenshot: 8-bit RGB, no interlace, one zlib stream. The compositor's pixels are
 * little-endian ARGB8888 (bytes B, G, R, A); the alpha of a composed output is meaningless and dropped.
 */

import { deflateSync } from "node:zlib";
import type { Pixels } from "./native.ts";

const SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  out.set(Buffer.from(type, "latin1"), 4);
  out.set(data, 8);
  // The CRC covers the type and the data.
  view.setUint32(8 + data.length, Bun.hash.crc32(out.subarray(4, 8 + data.length)));
  return out;
}

/** `pixels` as a PNG file. `level` is zlib's (1: fastest; screenshots are mostly flat colour and compress well anyway). */
export function encodePng(pixels: Pixels, level = 1): Uint8Array {
  const { width, height, stride, data } = pixels;
  const rowBytes = 1 + width * 3;
  const raw = new Uint8Array(rowBytes * height);
  for (let y = 0; y < height; y++) {
    let o = y * rowBytes;
    raw[o++] = 0; // filter: none
    let i = y * stride;
    for (let x = 0; x < width; x++, i += 4) {
      raw[o++] = data[i + 2]!;
      raw[o++] = data[i + 1]!;
      raw[o++] = data[i]!;
    }
  }
  const header = new Uint8Array(13);
  const view = new DataView(header.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  header.set([8, 2, 0, 0, 0], 8); // bit depth 8, colour type RGB, deflate, adaptive filtering, no interlace
  const parts = [SIGNATURE, chunk("IHDR", header), chunk("IDAT", deflateSync(raw, { level })), chunk("IEND", new Uint8Array(0))];
  return Buffer.concat(parts);
}

/** The RGB pixel at (x, y) of `pixels`, for checks against the layout. */
export function pixelAt(pixels: Pixels, x: number, y: number): [number, number, number] {
  const i = y * pixels.stride + x * 4;
  return [pixels.data[i + 2]!, pixels.data[i + 1]!, pixels.data[i]!];
}
