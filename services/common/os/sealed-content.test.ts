import { expect, test } from "bun:test";
import { openSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { closeFd, makePipe } from "../bus/libc.ts";
import { memfdCreate } from "./libc.ts";
import { readSealedContent, SealedContentError, sealedContent } from "./sealed-content.ts";

function refusal(fd: number, maxBytes = 1024): SealedContentError {
  try {
    readSealedContent(fd, maxBytes);
  } catch (error) {
    if (error instanceof SealedContentError) return error;
    throw error;
  }
  throw new Error("expected a refusal");
}

test("bytes go in and come out whole, empty ones too", () => {
  for (const data of [new Uint8Array(0), new TextEncoder().encode("notes ✓"), new Uint8Array(300_000).fill(7)]) {
    const fd = sealedContent("test", data);
    try {
      expect(Buffer.from(readSealedContent(fd, 1 << 20)).equals(Buffer.from(data))).toBe(true);
    } finally {
      closeFd(fd);
    }
  }
});

test("a sealed memfd cannot be changed after it is sent", () => {
  const fd = sealedContent("test", new TextEncoder().encode("fixed"));
  try {
    expect(() => writeSync(fd, "changed", 0)).toThrow();
  } finally {
    closeFd(fd);
  }
});

test("anything else is refused without blocking: a pipe with no writer data, an unsealed memfd, a file", () => {
  const [readEnd, writeEnd] = makePipe();
  const unsealed = memfdCreate("unsealed");
  const file = join(tmpdir(), `weft-sealed-${process.pid}`);
  writeFileSync(file, "plain file");
  const fileFd = openSync(file, "r");
  try {
    for (const fd of [readEnd, unsealed, fileFd]) expect(refusal(fd).reason).toBe("not-sealed");
  } finally {
    for (const fd of [readEnd, writeEnd, unsealed, fileFd]) closeFd(fd);
  }
});

test("content above the limit is refused before it is read", () => {
  const fd = sealedContent("test", new Uint8Array(2048));
  try {
    const error = refusal(fd, 1024);
    expect(error.reason).toBe("too-large");
    expect(error.message).toContain("2048 bytes; at most 1024");
  } finally {
    closeFd(fd);
  }
});
