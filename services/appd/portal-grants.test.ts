import { afterAll, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { portalRoots } from "./portal-grants.ts";

const home = mkdtempSync(join(tmpdir(), "weft-portal-grants-"));
mkdirSync(join(home, "Documents"));
afterAll(() => rmSync(home, { recursive: true, force: true }));

test("xdg-documents capabilities become one Documents root, writable when either grant writes", () => {
  expect(portalRoots(["fs:read:xdg-documents"], { HOME: home })).toEqual({ roots: [["xdg-documents", join(home, "Documents"), false]], missing: [] });
  expect(portalRoots(["fs:read:xdg-documents", "fs:rw:xdg-documents"], { HOME: home }).roots).toEqual([["xdg-documents", join(home, "Documents"), true]]);
});

test("capabilities without a portal grant give no roots; a missing folder is reported, not invented", () => {
  expect(portalRoots(["fs:rw:app-data", "sys:notifications", "net:fetch:example.com"], { HOME: home })).toEqual({ roots: [], missing: [] });
  expect(portalRoots(["fs:rw:xdg-documents"], { HOME: join(home, "nowhere") })).toEqual({ roots: [], missing: ["xdg-documents"] });
  expect(portalRoots(["fs:rw:xdg-documents"], { HOME: home, XDG_DOCUMENTS_DIR: "relative/dir" }).roots[0]![1]).toBe(join(home, "Documents"));
});
