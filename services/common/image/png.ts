/**
 * PNG encoding of a screenshot: 8-bit RGB, no interlace, one zlib stream. The compositor's pixels are
 * little-endian ARGB8888 (bytes B, G, R, A); the alpha of a composed output is meaningless and dropped.
 * Decoding and comparing are for the readers of screenshots: tests, the demo, the VM checks.
 */

import { deflateSync, inflateSync } from "node:zlib";

/** An output's pixels: rows of little-endian ARGB8888 (bytes B, G, R, A). */
export interface Pixels {
  width: number;
  height: number;
  stride: number;
  data: Uint8Array;
}

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

/**
 * Decodes an 8-bit, non-interlaced RGB or RGBA PNG (ours, and what Chromium's Page.captureScreenshot writes) into
 * pixels in the compositor's byte order (B, G, R, A), so screenshots from both sides compare directly. Anything
 * else (palette, 16-bit, interlaced) is an error naming what it is.
 */
export function decodePng(png: Uint8Array): Pixels {
  const bytes = Buffer.from(png.buffer, png.byteOffset, png.byteLength);
  if (bytes.length < 8 || !bytes.subarray(0, 8).equals(Buffer.from(SIGNATURE))) throw new Error("not a PNG (bad signature)");
  let offset = 8;
  let width = 0;
  let height = 0;
  let channels = 0;
  const idat: Buffer[] = [];
  while (offset + 12 <= bytes.length) {
    const length = bytes.readUInt32BE(offset);
    const type = bytes.toString("latin1", offset + 4, offset + 8);
    const data = bytes.subarray(offset + 8, offset + 8 + length);
    if (type === "IHDR") {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      const [depth, colour, , , interlace] = [data[8], data[9], data[10], data[11], data[12]];
      if (depth !== 8 || (colour !== 2 && colour !== 6) || interlace !== 0) {
        throw new Error(`unsupported PNG: bit depth ${depth}, colour type ${colour}, interlace ${interlace} (8-bit RGB/RGBA, not interlaced, only)`);
      }
      channels = colour === 6 ? 4 : 3;
      if (width * height > 64 << 20) throw new Error(`PNG too large: ${width}x${height}`);
    } else if (type === "IDAT") idat.push(data);
    else if (type === "IEND") break;
    offset += 12 + length;
  }
  if (channels === 0) throw new Error("PNG without IHDR");
  const raw = inflateSync(Buffer.concat(idat));
  const rowBytes = width * channels;
  if (raw.length < (rowBytes + 1) * height) throw new Error("PNG data is shorter than its size says");
  const rows = new Uint8Array(rowBytes * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (rowBytes + 1)]!;
    const src = y * (rowBytes + 1) + 1;
    const dst = y * rowBytes;
    for (let x = 0; x < rowBytes; x++) {
      const a = x >= channels ? rows[dst + x - channels]! : 0; // left
      const b = y > 0 ? rows[dst - rowBytes + x]! : 0; // up
      const c = x >= channels && y > 0 ? rows[dst - rowBytes + x - channels]! : 0; // up-left
      let predictor: number;
      switch (filter) {
        case 0: predictor = 0; break;
        case 1: predictor = a; break;
        case 2: predictor = b; break;
        case 3: predictor = (a + b) >> 1; break;
        case 4: {
          const p = a + b - c;
          const pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
          predictor = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
          break;
        }
        default: throw new Error(`PNG row ${y} has an unknown filter ${filter}`);
      }
      rows[dst + x] = (raw[src + x]! + predictor) & 0xff;
    }
  }
  const stride = width * 4;
  const out = new Uint8Array(stride * height);
  for (let i = 0, o = 0; i < rows.length; i += channels, o += 4) {
    out[o] = rows[i + 2]!;
    out[o + 1] = rows[i + 1]!;
    out[o + 2] = rows[i]!;
    out[o + 3] = channels === 4 ? rows[i + 3]! : 255;
  }
  return { width, height, stride, data: out };
}

/** A rectangle in pixel coordinates. */
export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** Visits every `step`-th pixel of `box` (clipped to both images) with its RGB in `a` and in `b`. */
function forEachPixelPair(a: Pixels, b: Pixels, box: Box, step: number, visit: (p: [number, number, number], q: [number, number, number]) => void): void {
  const width = Math.min(a.width, b.width);
  const height = Math.min(a.height, b.height);
  for (let y = Math.max(0, Math.floor(box.y)); y < Math.min(height, box.y + box.height); y += step) {
    for (let x = Math.max(0, Math.floor(box.x)); x < Math.min(width, box.x + box.width); x += step) {
      visit(pixelAt(a, x, y), pixelAt(b, x, y));
    }
  }
}

/** How many pixels of `box` (every `step`-th in each direction) differ between two screenshots. */
export function differingPixels(a: Pixels, b: Pixels, box: Box, step = 1): number {
  let count = 0;
  forEachPixelPair(a, b, box, step, (p, q) => {
    if (p[0] !== q[0] || p[1] !== q[1] || p[2] !== q[2]) count++;
  });
  return count;
}

/** Mean absolute difference per channel (0..255) between the same box of two screenshots. */
export function meanDifference(a: Pixels, b: Pixels, box: Box): number {
  let total = 0;
  let count = 0;
  forEachPixelPair(a, b, box, 1, (p, q) => {
    total += Math.abs(p[0] - q[0]) + Math.abs(p[1] - q[1]) + Math.abs(p[2] - q[2]);
    count += 3;
  });
  return total / Math.max(1, count);
}
