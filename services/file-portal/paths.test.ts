import { describe, expect, test } from "bun:test";
import { PortalError } from "./errors.ts";
import { guestPrefixSegments, MAX_PATH_BYTES, parseGuestPath, rootNameProblem } from "./paths.ts";

function problem(path: string): string {
  try {
    parseGuestPath(path);
  } catch (error) {
    expect(error).toBeInstanceOf(PortalError);
    expect((error as PortalError).errorName).toBe("InvalidPath");
    return (error as PortalError).message;
  }
  throw new Error(`${JSON.stringify(path)} was accepted`);
}

describe("guest paths", () => {
  test("an absolute path splits into its segments", () => {
    expect(parseGuestPath("/xdg/documents/notes/todo.txt").segments).toEqual(["xdg", "documents", "notes", "todo.txt"]);
    expect(parseGuestPath("/xdg/documents").segments).toEqual(["xdg", "documents"]);
    expect(parseGuestPath("/xdg/documents/ünï côdé").segments.at(-1)).toBe("ünï côdé");
  });

  test("each broken rule is InvalidPath saying which", () => {
    expect(problem("xdg/documents/a")).toContain("is not absolute");
    expect(problem("/")).toContain("names no root");
    expect(problem("")).toContain("is not absolute");
    expect(problem("/xdg/documents/../../etc/passwd")).toContain('".." segment');
    expect(problem("/xdg/documents/./a")).toContain('"." segment');
    expect(problem("/xdg//documents")).toContain("empty segment");
    expect(problem("/xdg/documents/")).toContain("empty segment");
    expect(problem("/xdg/documents/a\0b")).toContain("NUL");
    expect(problem(`/xdg/documents/${"a/".repeat(MAX_PATH_BYTES / 2)}`)).toContain(`longer than ${MAX_PATH_BYTES} bytes`);
    expect(problem(`/xdg/documents/${"é".repeat(128)}`)).toContain("segment longer than 255 bytes");
  });
});

describe("root names", () => {
  test("xdg-documents maps to /xdg/documents", () => {
    expect(rootNameProblem("xdg-documents")).toBeUndefined();
    expect(guestPrefixSegments("xdg-documents")).toEqual(["xdg", "documents"]);
    expect(guestPrefixSegments("media")).toEqual(["media"]);
  });

  test("names that would make odd prefixes are refused", () => {
    for (const name of ["", "Xdg-documents", "xdg--documents", "-xdg", "xdg-", "xdg/documents", "xdg.documents", "x".repeat(65)]) {
      expect(rootNameProblem(name)).toBeDefined();
    }
  });
});
