import { describe, expect, test } from "bun:test";
import { assertAppId } from "./app-id.ts";
import { decodePackageRecord, encodePackageRecord, MAX_PACKAGE_RECORD_BYTES, PackageRecordError, recordPathProblem, type PackageRecord } from "./package-record.ts";

const COUNTER = assertAppId("org.weft.demo.counter");
const record: PackageRecord = {
  appId: COUNTER,
  dir: "/home/u/.local/share/weft/apps/org.weft.demo.counter",
  signerKey: "ab".repeat(32),
  files: [
    { path: "wapp.toml", size: 120, sha256: "01".repeat(32) },
    { path: "ui/index.html", size: 0, sha256: "ef".repeat(32) },
  ],
};

function refusal(bytes: Uint8Array, appId = COUNTER): string {
  try {
    decodePackageRecord(bytes, appId);
  } catch (error) {
    expect(error).toBeInstanceOf(PackageRecordError);
    return (error as Error).message;
  }
  throw new Error("expected a refusal");
}

const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

describe("the package record a supervisor hands a session child", () => {
  test("what the supervisor encodes, the child decodes", () => {
    expect(decodePackageRecord(encodePackageRecord(record), COUNTER)).toEqual(record);
  });

  const hostile: [string, Uint8Array, string][] = [
    ["not JSON", new TextEncoder().encode("{"), "is not UTF-8 JSON"],
    ["not UTF-8", new Uint8Array([0xff, 0xfe, 0x7b]), "is not UTF-8 JSON"],
    ["a list", json([record]), "must be a JSON object"],
    ["another app's", json({ ...record, appId: "org.weft.demo.notes" }), "is about org.weft.demo.notes, not org.weft.demo.counter"],
    ["an invalid app id", json({ ...record, appId: "../etc" }), "appId must be a valid app id"],
    ["a relative dir", json({ ...record, dir: "apps/x" }), "dir must be an absolute path"],
    ["a dir with ..", json({ ...record, dir: "/home/../etc" }), "dir must be an absolute path"],
    ["a short key", json({ ...record, signerKey: "ab" }), "signerKey must be 64 lowercase hex digits"],
    ["an escaping path", json({ ...record, files: [{ path: "../x", size: 1, sha256: "00".repeat(32) }] }), "files.0.path must be a relative path"],
    ["an absolute path", json({ ...record, files: [{ path: "/etc/passwd", size: 1, sha256: "00".repeat(32) }] }), "files.0.path"],
    ["a negative size", json({ ...record, files: [{ path: "a", size: -1, sha256: "00".repeat(32) }] }), "files.0.size"],
    ["an uppercase hash", json({ ...record, files: [{ path: "a", size: 1, sha256: "AB".repeat(32) }] }), "files.0.sha256 must be 64 lowercase hex digits"],
    ["a path twice", json({ ...record, files: [record.files[0], record.files[0]] }), `names "wapp.toml" twice`],
    ["an unknown field", json({ ...record, grants: ["net:fetch"] }), "grants"],
    ["a missing field", json({ appId: COUNTER, dir: record.dir, files: [] }), "signerKey"],
    ["a huge one", new Uint8Array(MAX_PACKAGE_RECORD_BYTES + 1), `at most ${MAX_PACKAGE_RECORD_BYTES}`],
  ];
  test.each(hostile)("%s is refused, naming the problem", (_, bytes, problem) => {
    expect(refusal(bytes)).toContain(problem);
  });

  test("paths a record may name", () => {
    for (const ok of ["wapp.toml", "ui/index.html", "a/b/c.d", ".hidden"]) expect(recordPathProblem(ok)).toBeUndefined();
    for (const bad of ["", "/a", "a//b", "a/./b", "a/..", "..", "a\0b", "x".repeat(1025)]) expect(recordPathProblem(bad)).toBeString();
  });
});
