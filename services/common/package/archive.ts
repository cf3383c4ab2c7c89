/**
 * App bundles: `<id>.app.tar.zst`, a zstd-compressed tar whose single top-level directory is `<id>/`.
 *
 *   zstd frame(s) ─► tar stream:
 *     ┌──────────────┬────────────────────┬─────┬──────────────┬─────────────┐
 *     │ hdr <id>/    │ [pax hdr][hdr] file │ data│ … more entries │ 2×512 zeros │
 *     └──────────────┴────────────────────┴─────┴──────────────┴─────────────┘
 *   each header is 512 bytes (ustar); data is padded to 512; a PAX `x` entry (or, from the reference's Rust
 *   `tar` crate, a GNU `L` entry) before a header carries a name longer than the 100-byte field.
 *
 * Writing is deterministic: entries in tree order (a directory right before its contents, names byte-wise),
 * mtime 0, uid/gid 0, no user names, modes 0755 (directories, executables) or 0644, zstd level 3 fed in fixed
 * 1 MiB blocks (Bun's streaming encoder output depends on write boundaries). Like signing, bundling refuses
 * symlinks and special files: a bundle holds what a signature can cover.
 *
 * Reading trusts nothing: every entry must be a plain file or directory under the one top-level `<id>/`, with
 * no absolute path, `..`, empty or `.` component, NUL, tab or newline, and no duplicate. Sizes and counts are
 * capped as the stream is decompressed (a zip bomb is stopped at the cap, not after). Extraction goes to a fresh
 * directory beside the destination and is renamed into place only when the whole archive was sound.
 */

import { once } from "node:events";
import { constants as fsConstants } from "node:fs";
import { type FileHandle, mkdir, mkdtemp, open, realpath, rename, rm, rmdir, stat } from "node:fs/promises";
import { dirname, join, resolve, sep } from "node:path";
import { constants as zlibConstants, createZstdCompress, createZstdDecompress } from "node:zlib";
import { appIdProblem } from "../../../protocol/app-id.ts";
import {
  DEFAULT_PACKAGE_LIMITS,
  escapeBytes,
  lstatIfExists,
  nameProblem,
  openListedFile,
  type PackageLimits,
  utf8Bytes,
  walkPackage,
} from "./package-files.ts";

export const BUNDLE_SUFFIX = ".app.tar.zst";

export interface ArchiveLimits {
  /** Files and directories in the archive. */
  maxEntries: number;
  /** Sum of declared file sizes. */
  maxTotalBytes: number;
}

export const DEFAULT_ARCHIVE_LIMITS: Readonly<ArchiveLimits> = {
  maxEntries: 100_000,
  maxTotalBytes: 4 * 1024 ** 3,
};

/** A PAX or GNU long-name record longer than this is not a name (PATH_MAX is 4096) but an attack on memory. */
const MAX_META_BYTES = 8 * 1024;
/** Extended headers in a row before one entry: PAX and GNU at most once each is all any writer needs. */
const MAX_META_HEADERS = 2;
const BLOCK = 512;
const COMPRESSION_LEVEL = 3;
const IO_CHUNK = 1024 * 1024;

/** A bundle that cannot be written or read; `entry` names the offending tar entry when there is one. */
export class ArchiveError extends Error {
  constructor(
    readonly archive: string,
    readonly entry: string | undefined,
    message: string,
  ) {
    super(entry === undefined ? `${archive}: ${message}` : `${archive}: entry "${entry}" ${message}`);
    this.name = "ArchiveError";
  }
}

// ───────────────────────────── tar encoding ─────────────────────────────

export const TarType = {
  file: "0",
  hardlink: "1",
  symlink: "2",
  charDevice: "3",
  blockDevice: "4",
  directory: "5",
  fifo: "6",
  paxHeader: "x",
  paxGlobal: "g",
  gnuLongName: "L",
} as const;

export interface TarHeaderFields {
  /** Raw name bytes (≤ 100) or text. */
  name: string | Uint8Array;
  typeflag: string;
  size?: number;
  mode?: number;
  linkname?: string;
  /** ustar prefix field (≤ 155 bytes), joined to the name with `/` by readers. */
  prefix?: string;
  /** "ustar" (POSIX, default) or "gnu" (`ustar  \0`, as the Rust `tar` crate writes). */
  magic?: "ustar" | "gnu";
}

function putBytes(block: Uint8Array, offset: number, length: number, value: string | Uint8Array): void {
  const bytes = typeof value === "string" ? utf8Bytes(value) : value;
  if (bytes.length > length) throw new RangeError(`tar field at ${offset} holds ${length} bytes, got ${bytes.length}`);
  block.set(bytes, offset);
}

function putOctal(block: Uint8Array, offset: number, length: number, value: number): void {
  const digits = value.toString(8).padStart(length - 1, "0");
  if (digits.length > length - 1) throw new RangeError(`value ${value} does not fit a ${length}-byte tar field`);
  putBytes(block, offset, length, `${digits}\0`);
}

/** One 512-byte tar header. Exported for tests that craft hostile archives. */
export function encodeTarHeader(fields: TarHeaderFields): Uint8Array {
  const block = new Uint8Array(BLOCK);
  putBytes(block, 0, 100, fields.name);
  putOctal(block, 100, 8, fields.mode ?? (fields.typeflag === TarType.directory ? 0o755 : 0o644));
  putOctal(block, 108, 8, 0);
  putOctal(block, 116, 8, 0);
  putOctal(block, 124, 12, fields.size ?? 0);
  putOctal(block, 136, 12, 0);
  putBytes(block, 156, 1, fields.typeflag);
  if (fields.linkname !== undefined) putBytes(block, 157, 100, fields.linkname);
  putBytes(block, 257, 8, fields.magic === "gnu" ? "ustar  \0" : "ustar\u000000");
  if (fields.prefix !== undefined) putBytes(block, 345, 155, fields.prefix);
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of block) sum += byte;
  putBytes(block, 148, 8, `${sum.toString(8).padStart(6, "0")}\0 `);
  return block;
}

function padding(size: number): Uint8Array {
  return new Uint8Array((BLOCK - (size % BLOCK)) % BLOCK);
}

/** A header followed by its (padded) data. Exported for tests that craft hostile archives. */
export function encodeTarEntry(fields: TarHeaderFields, data: Uint8Array = new Uint8Array(0)): Uint8Array {
  const header = encodeTarHeader({ size: data.length, ...fields });
  return Buffer.concat([header, data, padding(data.length)]);
}

/** A PAX extended-header body: `"<len> <key>=<value>\n"` records, where len counts the whole record. */
export function encodePaxRecords(records: Record<string, string>): Uint8Array {
  let text = "";
  for (const [key, value] of Object.entries(records)) {
    const body = ` ${key}=${value}\n`;
    const bodyLength = utf8Bytes(body).length;
    let length = bodyLength + 1;
    while (String(length).length + bodyLength !== length) length = String(length).length + bodyLength;
    text += `${length}${body}`;
  }
  return utf8Bytes(text);
}

/** The end-of-archive marker: two zero blocks. */
export const TAR_END = new Uint8Array(2 * BLOCK);

const MAX_OCTAL_SIZE = 0o77777777777;

/** Header(s) for one bundle entry, with a PAX record when the name or size does not fit ustar. */
function entryHeaders(path: string, typeflag: string, size: number, mode: number): Uint8Array {
  const nameBytes = utf8Bytes(path);
  const pax: Record<string, string> = {};
  if (nameBytes.length > 100) pax.path = path;
  if (size > MAX_OCTAL_SIZE) pax.size = String(size);
  const header = encodeTarHeader({
    name: nameBytes.length > 100 ? nameBytes.subarray(0, 100) : nameBytes,
    typeflag,
    size: size > MAX_OCTAL_SIZE ? 0 : size,
    mode,
  });
  if (Object.keys(pax).length === 0) return header;
  return Buffer.concat([encodeTarEntry({ name: "././@PaxHeader", typeflag: TarType.paxHeader }, encodePaxRecords(pax)), header]);
}

// ───────────────────────────── bundle ─────────────────────────────

/** Tree order: like byte-wise order, but `/` sorts first, so a directory comes right before its contents. */
function compareTreeOrder(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x !== y) return (x === 0x2f ? -1 : x) - (y === 0x2f ? -1 : y);
  }
  return a.length - b.length;
}

async function* tarStream(dir: string, id: string, limits: PackageLimits): AsyncGenerator<Uint8Array> {
  const tree = await walkPackage(dir, limits);
  type Item = { path: string; bytes: Uint8Array; file?: (typeof tree.files)[number] };
  const items: Item[] = [
    ...tree.directories.map((path) => ({ path, bytes: utf8Bytes(path) })),
    ...tree.files.map((file) => ({ path: file.path, bytes: file.pathBytes, file })),
  ].sort((a, b) => compareTreeOrder(a.bytes, b.bytes));

  yield entryHeaders(`${id}/`, TarType.directory, 0, 0o755);
  for (const item of items) {
    if (item.file === undefined) {
      yield entryHeaders(`${id}/${item.path}/`, TarType.directory, 0, 0o755);
      continue;
    }
    const file = item.file;
    yield entryHeaders(`${id}/${file.path}`, TarType.file, file.size, file.executable ? 0o755 : 0o644);
    const handle = await openListedFile(join(dir, file.path), file.path, file.size);
    try {
      let remaining = file.size;
      while (remaining > 0) {
        const chunk = Buffer.allocUnsafe(Math.min(IO_CHUNK, remaining));
        const { bytesRead } = await handle.read(chunk, 0, chunk.length, null);
        if (bytesRead === 0) throw new ArchiveError(dir, file.path, "shrank while it was being bundled");
        remaining -= bytesRead;
        yield chunk.subarray(0, bytesRead);
      }
    } finally {
      await handle.close();
    }
    yield padding(file.size);
  }
  yield TAR_END;
}

/** Regroups a byte stream into fixed-size blocks, so the compressor sees the same writes for the same bytes. */
async function* fixedBlocks(source: AsyncIterable<Uint8Array>, size: number): AsyncGenerator<Uint8Array> {
  let block = Buffer.allocUnsafe(size);
  let filled = 0;
  for await (let chunk of source) {
    while (chunk.length > 0) {
      const take = Math.min(size - filled, chunk.length);
      block.set(chunk.subarray(0, take), filled);
      filled += take;
      chunk = chunk.subarray(take);
      if (filled === size) {
        yield block;
        block = Buffer.allocUnsafe(size);
        filled = 0;
      }
    }
  }
  if (filled > 0) yield block.subarray(0, filled);
}

export interface BundleResult {
  file: string;
  /** Uncompressed tar bytes. */
  tarBytes: number;
}

/**
 * Writes the package at `dir` to `outFile` as a bundle with top-level directory `<id>/`. Refuses an existing
 * `outFile`, an `outFile` inside the package, and packages with symlinks or special files; on failure the
 * partial output is removed.
 */
export async function bundlePackage(
  dir: string,
  id: string,
  outFile: string,
  limits: PackageLimits = DEFAULT_PACKAGE_LIMITS,
): Promise<BundleResult> {
  const idProblem = appIdProblem(id);
  if (idProblem !== undefined) throw new ArchiveError(outFile, undefined, `cannot bundle as ${JSON.stringify(id)}: the id ${idProblem}`);
  const packageRoot = await realpath(dir);
  const outParent = await realpath(dirname(resolve(outFile))).catch(() => {
    throw new ArchiveError(outFile, undefined, "cannot be created: its directory does not exist");
  });
  if (outParent === packageRoot || outParent.startsWith(packageRoot + sep)) {
    throw new ArchiveError(outFile, undefined, `is inside the package ${dir}; write the bundle elsewhere`);
  }

  let handle: FileHandle;
  try {
    handle = await open(outFile, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_NOFOLLOW, 0o644);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") throw new ArchiveError(outFile, undefined, "already exists");
    throw error;
  }
  const compressor = createZstdCompress({ params: { [zlibConstants.ZSTD_c_compressionLevel]: COMPRESSION_LEVEL } });
  const writing = (async () => {
    for await (const chunk of compressor) await writeAll(handle, chunk as Uint8Array);
  })();
  writing.catch(() => {});
  let tarBytes = 0;
  try {
    for await (const block of fixedBlocks(tarStream(dir, id, limits), IO_CHUNK)) {
      tarBytes += block.length;
      // Waiting on `writing` too: if the disk write fails, "drain" never comes.
      if (!compressor.write(block)) await Promise.race([once(compressor, "drain"), writing]);
    }
    compressor.end();
    await writing;
    await handle.sync();
    await handle.close();
  } catch (error) {
    compressor.destroy();
    await writing.catch(() => {});
    await handle.close().catch(() => {});
    await rm(outFile, { force: true });
    throw error;
  }
  return { file: outFile, tarBytes };
}

async function writeAll(handle: FileHandle, data: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < data.length) {
    const { bytesWritten } = await handle.write(data, offset, data.length - offset, null);
    offset += bytesWritten;
  }
}

// ───────────────────────────── unbundle ─────────────────────────────

/** Pulls exact byte counts out of a chunked stream (the decompressor's output). */
class ByteReader {
  private buffer: Buffer = Buffer.alloc(0);
  private done = false;

  constructor(private readonly source: AsyncIterator<Uint8Array>) {}

  private async more(): Promise<boolean> {
    if (this.done) return false;
    const next = await this.source.next();
    if (next.done === true) {
      this.done = true;
      return false;
    }
    this.buffer = this.buffer.length === 0 ? Buffer.from(next.value) : Buffer.concat([this.buffer, next.value]);
    return true;
  }

  /** Exactly `n` bytes, or undefined at a clean end of stream; throws "truncated" mid-way. */
  async exact(n: number): Promise<Buffer | undefined> {
    while (this.buffer.length < n) {
      if (!(await this.more())) {
        if (this.buffer.length === 0) return undefined;
        throw new TruncatedError();
      }
    }
    const out = this.buffer.subarray(0, n);
    this.buffer = this.buffer.subarray(n);
    return out;
  }

  /** Up to `max` bytes (at least one), for streaming file data; throws "truncated" at end of stream. */
  async some(max: number): Promise<Buffer> {
    while (this.buffer.length === 0) {
      if (!(await this.more())) throw new TruncatedError();
    }
    const out = this.buffer.subarray(0, Math.min(max, this.buffer.length));
    this.buffer = this.buffer.subarray(out.length);
    return out;
  }

  async skip(n: number): Promise<void> {
    while (n > 0) n -= (await this.some(n)).length;
  }

  /** True when everything left in the stream is zero bytes (tar record padding). */
  async restIsZero(): Promise<boolean> {
    for (;;) {
      if (this.buffer.some((byte) => byte !== 0)) return false;
      this.buffer = Buffer.alloc(0);
      if (!(await this.more())) return true;
    }
  }
}

class TruncatedError extends Error {}

/**
 * The decompressed bytes of `handle`, stopping with an error once more than `maxBytes` came out: the cap holds
 * while decompressing, so a small archive that inflates to terabytes costs at most `maxBytes` of work.
 */
async function* decompressedChunks(handle: FileHandle, fileSize: number, archive: string, maxBytes: number): AsyncGenerator<Uint8Array> {
  const decompressor = createZstdDecompress();
  const pump = (async () => {
    // Only the bytes whose frame structure was checked are decompressed.
    for (let position = 0; position < fileSize; ) {
      const chunk = Buffer.allocUnsafe(Math.min(IO_CHUNK, fileSize - position));
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, position);
      position += bytesRead;
      if (bytesRead === 0 || decompressor.destroyed) break;
      if (!decompressor.write(chunk.subarray(0, bytesRead))) {
        await new Promise<void>((resume) => {
          const done = () => {
            decompressor.off("drain", done);
            decompressor.off("close", done);
            resume();
          };
          decompressor.on("drain", done);
          decompressor.on("close", done);
        });
      }
    }
    if (!decompressor.destroyed) decompressor.end();
  })().catch((error: unknown) => decompressor.destroy(error as Error));

  let total = 0;
  try {
    for await (const chunk of decompressor) {
      total += (chunk as Uint8Array).length;
      if (total > maxBytes) {
        throw new ArchiveError(archive, undefined, `decompresses to more than ${maxBytes} bytes; refusing (limit)`);
      }
      yield chunk as Uint8Array;
    }
  } catch (error) {
    if (error instanceof ArchiveError) throw error;
    throw new ArchiveError(archive, undefined, `is not a valid zstd stream: ${(error as Error).message}`);
  } finally {
    decompressor.destroy();
    await pump;
  }
}

/*
 * zstd frame structure (RFC 8878), walked without decompressing so that a truncated frame or bytes after the
 * last frame are errors (Bun's streaming decoder accepts both silently), and so a declared content size over
 * the cap is refused before any work:
 *
 *   frame    = magic FD2FB528 (LE) | FHD | [window] | [dict id] | [content size] | block… | [checksum 4]
 *   FHD      = FCS flag (2 bits) | single segment (1) | unused (1) | reserved (1) | checksum (1) | dict id flag (2)
 *   block    = 3-byte LE header: last (1 bit) | type (2: raw, RLE, compressed, reserved) | size (21)
 *              followed by `size` bytes (raw, compressed) or 1 byte (RLE)
 *   skippable frame = magic 184D2A5? | u32 LE length | that many bytes
 */
const ZSTD_MAGIC = 0xfd2fb528;

async function readAt(handle: FileHandle, position: number, length: number): Promise<Buffer | undefined> {
  const buffer = Buffer.alloc(length);
  const { bytesRead } = await handle.read(buffer, 0, length, position);
  return bytesRead === length ? buffer : undefined;
}

/** Checks that `handle` holds complete zstd frames and nothing else, declaring at most `maxBytes` in total. */
async function checkZstdFrames(handle: FileHandle, fileSize: number, archive: string, maxBytes: number): Promise<void> {
  const truncated = () => new ArchiveError(archive, undefined, "is truncated: its last zstd frame is incomplete");
  if (fileSize === 0) throw new ArchiveError(archive, undefined, "is empty");
  let offset = 0;
  let declared = 0;
  while (offset < fileSize) {
    const head = await readAt(handle, offset, 8);
    const magic = head?.readUInt32LE(0);
    if (magic !== undefined && (magic & 0xfffffff0) === 0x184d2a50) {
      offset += 8 + head!.readUInt32LE(4);
      if (offset > fileSize) throw truncated();
      continue;
    }
    if (magic !== ZSTD_MAGIC) {
      if (offset === 0) throw new ArchiveError(archive, undefined, "is not a zstd-compressed archive");
      throw new ArchiveError(archive, undefined, `has data after its zstd frames (at byte ${offset})`);
    }
    const descriptor = head![4]!;
    if ((descriptor & 0x08) !== 0) throw new ArchiveError(archive, undefined, "has a zstd frame with a reserved bit set");
    if ((descriptor & 0x03) !== 0) throw new ArchiveError(archive, undefined, "needs a zstd dictionary, which bundles do not use");
    const singleSegment = (descriptor & 0x20) !== 0;
    const contentSizeBytes = [singleSegment ? 1 : 0, 2, 4, 8][descriptor >> 6]!;
    const headerEnd = offset + 5 + (singleSegment ? 0 : 1) + contentSizeBytes;
    if (contentSizeBytes > 0) {
      const field = await readAt(handle, headerEnd - contentSizeBytes, contentSizeBytes);
      if (field === undefined) throw truncated();
      const size =
        contentSizeBytes === 1 ? field[0]! : contentSizeBytes === 2 ? field.readUInt16LE(0) + 256 : contentSizeBytes === 4 ? field.readUInt32LE(0) : Number(field.readBigUInt64LE(0));
      declared += size;
      if (declared > maxBytes) {
        throw new ArchiveError(archive, undefined, `declares ${declared} uncompressed bytes, over the limit of ${maxBytes}`);
      }
    }
    offset = headerEnd;
    for (let last = false; !last; ) {
      const block = await readAt(handle, offset, 3);
      if (block === undefined) throw truncated();
      const header = block[0]! | (block[1]! << 8) | (block[2]! << 16);
      last = (header & 1) === 1;
      const type = (header >> 1) & 3;
      if (type === 3) throw new ArchiveError(archive, undefined, `has a corrupt zstd block (reserved type) at byte ${offset}`);
      offset += 3 + (type === 1 ? 1 : header >>> 3);
      if (offset > fileSize) throw truncated();
    }
    if ((descriptor & 0x04) !== 0) offset += 4;
    if (offset > fileSize) throw truncated();
  }
}

function cString(field: Uint8Array): Uint8Array {
  const end = field.indexOf(0);
  return end === -1 ? field : field.subarray(0, end);
}

/** A numeric header field: octal text, or GNU base-256 (high bit set) for values that do not fit. */
function parseNumber(field: Uint8Array): number | undefined {
  if ((field[0]! & 0x80) !== 0) {
    if (field[0] === 0xff) return undefined;
    let value = field[0]! & 0x7f;
    for (const byte of field.subarray(1)) {
      value = value * 256 + byte;
      if (value > Number.MAX_SAFE_INTEGER) return undefined;
    }
    return value;
  }
  const text = Buffer.from(cString(field)).toString("latin1").trim();
  if (!/^[0-7]*$/.test(text)) return undefined;
  return text === "" ? 0 : parseInt(text, 8);
}

function checksumMatches(header: Uint8Array): boolean {
  const stored = parseNumber(header.subarray(148, 156));
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const byte = i >= 148 && i < 156 ? 0x20 : header[i]!;
    unsigned += byte;
    signed += byte > 127 ? byte - 256 : byte;
  }
  return stored === unsigned || stored === signed;
}

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

function parsePax(data: Uint8Array, archive: string): Map<string, Uint8Array> {
  const records = new Map<string, Uint8Array>();
  let offset = 0;
  while (offset < data.length) {
    const space = data.indexOf(0x20, offset);
    const lengthText = space === -1 ? "" : Buffer.from(data.subarray(offset, space)).toString("latin1");
    const length = /^[1-9][0-9]{0,8}$/.test(lengthText) ? Number(lengthText) : NaN;
    const end = offset + length;
    if (!Number.isFinite(length) || end > data.length || data[end - 1] !== 0x0a) {
      throw new ArchiveError(archive, undefined, "has a malformed PAX extended header");
    }
    const record = data.subarray(space + 1, end - 1);
    const equals = record.indexOf(0x3d);
    if (equals <= 0) throw new ArchiveError(archive, undefined, "has a malformed PAX extended header");
    records.set(Buffer.from(record.subarray(0, equals)).toString("utf8"), record.subarray(equals + 1));
    offset = end;
  }
  return records;
}

/** The fate of one tar header once names and metadata are resolved. */
interface TarEntry {
  /** Raw name bytes as they will be shown in errors. */
  shownName: string;
  nameBytes: Uint8Array;
  typeflag: string;
  size: number;
  mode: number;
}

const refusedTypes: Record<string, string> = {
  "1": "is a hard link",
  "2": "is a symlink",
  "3": "is a character device",
  "4": "is a block device",
  "6": "is a FIFO",
  K: "is a link (GNU long link name)",
  g: "is a global PAX header, which bundles do not use",
};

/**
 * Reads headers (folding PAX `x` and GNU `L` records into the entry they describe) until a real entry or the
 * end-of-archive marker.
 */
async function nextEntry(reader: ByteReader, archive: string): Promise<TarEntry | "end"> {
  let longName: Uint8Array | undefined;
  let paxSize: number | undefined;
  let metaHeaders = 0;
  for (;;) {
    const header = await reader.exact(BLOCK);
    if (header === undefined) throw new ArchiveError(archive, undefined, "is truncated: it ends without the end-of-archive marker");
    if (header.every((byte) => byte === 0)) {
      if (longName !== undefined) throw new ArchiveError(archive, undefined, "ends right after an extended header");
      const second = await reader.exact(BLOCK);
      if (second === undefined || !second.every((byte) => byte === 0)) {
        throw new ArchiveError(archive, undefined, "is truncated or corrupt: a lone zero block instead of the end-of-archive marker");
      }
      return "end";
    }
    if (!checksumMatches(header)) throw new ArchiveError(archive, undefined, "is corrupt: a tar header checksum does not match");

    const typeflag = header[156] === 0 ? TarType.file : String.fromCharCode(header[156]!);
    const declaredSize = parseNumber(header.subarray(124, 136));
    const magic = Buffer.from(header.subarray(257, 263)).toString("latin1");
    let nameBytes: Uint8Array = cString(header.subarray(0, 100));
    // Only POSIX ustar has a prefix field; GNU headers keep other data in those bytes.
    if (magic === "ustar\0") {
      const prefix = cString(header.subarray(345, 500));
      if (prefix.length > 0) nameBytes = Buffer.concat([prefix, Buffer.from("/"), nameBytes]);
    }
    if (longName !== undefined) nameBytes = longName;
    const shownName = escapeBytes(nameBytes);
    if (declaredSize === undefined) throw new ArchiveError(archive, shownName, "has an unreadable size field");
    const size = paxSize ?? declaredSize;

    if (typeflag === TarType.paxHeader || typeflag === TarType.gnuLongName) {
      // Chains of extended headers would consume decompressed bytes without ever counting as an entry.
      if (++metaHeaders > MAX_META_HEADERS) throw new ArchiveError(archive, shownName, "is one extended header too many for a single entry");
      if (size > MAX_META_BYTES) throw new ArchiveError(archive, shownName, `is an extended header of ${size} bytes (limit ${MAX_META_BYTES})`);
      const data = await readEntryData(reader, size, archive, shownName);
      if (typeflag === TarType.gnuLongName) {
        const name = cString(data);
        if (data.subarray(name.length).some((byte) => byte !== 0)) {
          throw new ArchiveError(archive, escapeBytes(data), "has a NUL byte in its name");
        }
        longName = name;
      } else {
        const records = parsePax(data, archive);
        const path = records.get("path");
        if (path !== undefined) {
          if (path.includes(0)) throw new ArchiveError(archive, escapeBytes(path), "has a NUL byte in its name");
          longName = path;
        }
        const sizeText = records.get("size");
        if (sizeText !== undefined) {
          const text = Buffer.from(sizeText).toString("latin1");
          if (!/^[0-9]{1,15}$/.test(text)) throw new ArchiveError(archive, undefined, "has a PAX size that is not a number");
          paxSize = Number(text);
        }
      }
      continue;
    }
    const mode = parseNumber(header.subarray(100, 108)) ?? 0o644;
    return { shownName, nameBytes, typeflag, size, mode };
  }
}

async function readEntryData(reader: ByteReader, size: number, archive: string, entry: string): Promise<Uint8Array> {
  try {
    const data = size === 0 ? Buffer.alloc(0) : await reader.exact(size);
    if (data === undefined) throw new TruncatedError();
    await reader.skip((BLOCK - (size % BLOCK)) % BLOCK);
    return data;
  } catch (error) {
    if (error instanceof TruncatedError) throw new ArchiveError(archive, entry, "is truncated");
    throw error;
  }
}

/** Splits and checks an entry name; returns its path components (the first is the app id). */
function entryComponents(entry: TarEntry, archive: string): string[] {
  let name: string;
  try {
    name = utf8.decode(entry.nameBytes);
  } catch {
    throw new ArchiveError(archive, entry.shownName, "has a name that is not valid UTF-8");
  }
  if (name.startsWith("/")) throw new ArchiveError(archive, entry.shownName, "is an absolute path");
  const isDirectory = entry.typeflag === TarType.directory;
  if (name.endsWith("/")) {
    if (!isDirectory) throw new ArchiveError(archive, entry.shownName, "is a file whose name ends with '/'");
    name = name.slice(0, -1);
  }
  const components = name.split("/");
  if (components.includes("..")) throw new ArchiveError(archive, entry.shownName, "has a '..' component: it would land outside the target");
  for (const component of components) {
    const problem = nameProblem(component);
    if (problem !== undefined) throw new ArchiveError(archive, entry.shownName, `has a path component that ${problem}`);
  }
  return components;
}

/** What the extraction has created so far, to refuse duplicates and file/directory conflicts. */
type Created = Map<string, "file" | "directory" | "implicit-directory">;

async function ensureParents(root: string, components: string[], created: Created, archive: string, entry: string): Promise<void> {
  for (let depth = 1; depth < components.length; depth++) {
    const rel = components.slice(0, depth).join("/");
    const kind = created.get(rel);
    if (kind === "file") throw new ArchiveError(archive, entry, `is inside "${rel}", which is a file`);
    if (kind === undefined) {
      await mkdir(join(root, ...components.slice(0, depth)), { mode: 0o755 });
      created.set(rel, "implicit-directory");
    }
  }
}

async function writeEntryFile(reader: ByteReader, path: string, entry: TarEntry, archive: string): Promise<void> {
  const mode = (entry.mode & 0o111) !== 0 ? 0o755 : 0o644;
  const handle = await open(path, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_NOFOLLOW, mode);
  try {
    let remaining = entry.size;
    while (remaining > 0) {
      const chunk = await reader.some(Math.min(remaining, IO_CHUNK));
      await writeAll(handle, chunk);
      remaining -= chunk.length;
    }
    await reader.skip((BLOCK - (entry.size % BLOCK)) % BLOCK);
  } catch (error) {
    if (error instanceof TruncatedError) throw new ArchiveError(archive, entry.shownName, "is truncated");
    throw error;
  } finally {
    await handle.close();
  }
}

/**
 * Extracts the tar stream into `staging`, returning the app id (the single top-level directory).
 * `checkDestination` runs as soon as the id is known, so an existing destination fails before any work.
 */
async function extract(
  reader: ByteReader,
  staging: string,
  archive: string,
  limits: ArchiveLimits,
  checkDestination: (id: string) => Promise<void>,
): Promise<string> {
  const created: Created = new Map();
  let id: string | undefined;
  let entries = 0;
  let totalBytes = 0;
  for (;;) {
    const entry = await nextEntry(reader, archive);
    if (entry === "end") break;
    const refused = refusedTypes[entry.typeflag];
    if (refused !== undefined) throw new ArchiveError(archive, entry.shownName, `${refused}: bundles hold only files and directories`);
    if (entry.typeflag !== TarType.file && entry.typeflag !== TarType.directory) {
      throw new ArchiveError(archive, entry.shownName, `has the unsupported tar type '${entry.typeflag}'`);
    }
    const components = entryComponents(entry, archive);

    if (id === undefined) {
      id = components[0]!;
      const problem = appIdProblem(id);
      if (problem !== undefined) {
        throw new ArchiveError(archive, entry.shownName, `is under "${id}/", which is not an app id (it ${problem})`);
      }
      await checkDestination(id);
    } else if (components[0] !== id) {
      throw new ArchiveError(archive, entry.shownName, `is outside the top-level directory "${id}/"`);
    }
    if (components.length === 1 && entry.typeflag !== TarType.directory) {
      throw new ArchiveError(archive, entry.shownName, `is a file in place of the top-level directory "${id}/"`);
    }

    entries += 1;
    if (entries > limits.maxEntries) throw new ArchiveError(archive, entry.shownName, `is one entry too many (limit ${limits.maxEntries})`);
    const rel = components.join("/");
    const existing = created.get(rel);
    const path = join(staging, ...components);
    await ensureParents(staging, components, created, archive, entry.shownName);

    if (entry.typeflag === TarType.directory) {
      if (entry.size !== 0) throw new ArchiveError(archive, entry.shownName, "is a directory with data");
      if (existing === "directory" || existing === "file") throw new ArchiveError(archive, entry.shownName, "is a duplicate entry");
      if (existing === undefined) await mkdir(path, { mode: 0o755 });
      created.set(rel, "directory");
    } else {
      if (existing !== undefined) {
        throw new ArchiveError(archive, entry.shownName, existing === "file" ? "is a duplicate entry" : "is a file where a directory already is");
      }
      totalBytes += entry.size;
      if (totalBytes > limits.maxTotalBytes) {
        throw new ArchiveError(archive, entry.shownName, `declares ${entry.size} bytes, taking the archive over its limit of ${limits.maxTotalBytes} bytes`);
      }
      created.set(rel, "file");
      await writeEntryFile(reader, path, entry, archive);
    }
  }
  if (id === undefined) throw new ArchiveError(archive, undefined, "is empty: it has no top-level directory");
  if (!(await reader.restIsZero())) throw new ArchiveError(archive, undefined, "has data after the end-of-archive marker");
  return id;
}

export interface UnbundleResult {
  /** The extracted package: `<outDir>/<id>`. */
  dir: string;
  id: string;
}

/**
 * Extracts a bundle into `<outDir>/<id>` (`outDir` must exist), all or nothing: the archive is unpacked into a
 * fresh directory inside `outDir` and renamed into place only once every entry was accepted, so a hostile or
 * broken archive leaves `outDir` exactly as it was. Refuses a destination that already exists.
 */
export async function unbundleArchive(
  file: string,
  outDir: string,
  limits: ArchiveLimits = DEFAULT_ARCHIVE_LIMITS,
): Promise<UnbundleResult> {
  const outStat = await stat(outDir).catch(() => undefined);
  if (outStat === undefined || !outStat.isDirectory()) {
    throw new ArchiveError(file, undefined, `cannot unbundle into ${outDir}: not an existing directory`);
  }
  const handle = await open(file, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK).catch((error: NodeJS.ErrnoException) => {
    throw new ArchiveError(file, undefined, `cannot be opened (${error.code ?? error.message})`);
  });
  const destinationOf = (id: string) => join(outDir, id);
  const refuseExisting = async (id: string) => {
    if ((await lstatIfExists(destinationOf(id))) !== undefined) {
      throw new ArchiveError(file, undefined, `cannot unbundle: ${destinationOf(id)} already exists`);
    }
  };
  let staging: string | undefined;
  try {
    const fileStat = await handle.stat();
    if (!fileStat.isFile()) throw new ArchiveError(file, undefined, "is not a regular file");
    // The decompressed stream is file data plus per-entry overhead (a header, padding, two extended headers at
    // most) plus the end marker and record padding: anything beyond that is a bomb, stopped as it inflates.
    const perEntry = 2 * BLOCK + MAX_META_HEADERS * (2 * BLOCK + MAX_META_BYTES);
    const maxStream = limits.maxTotalBytes + (limits.maxEntries + 1) * perEntry + 64 * 1024;
    await checkZstdFrames(handle, fileStat.size, file, maxStream);
    staging = await mkdtemp(join(outDir, ".weft-unbundle-"));
    const chunks = decompressedChunks(handle, fileStat.size, file, maxStream);
    let id: string;
    try {
      id = await extract(new ByteReader(chunks), staging, file, limits, refuseExisting);
    } finally {
      await chunks.return(undefined);
    }
    await refuseExisting(id);
    await rename(join(staging, id), destinationOf(id));
    await rmdir(staging);
    return { dir: destinationOf(id), id };
  } catch (error) {
    if (staging !== undefined) await rm(staging, { recursive: true, force: true });
    throw error;
  } finally {
    await handle.close();
  }
}
