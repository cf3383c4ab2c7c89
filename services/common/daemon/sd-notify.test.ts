import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NotifyListener } from "../../../testing/notify-listener.ts";
import { sdNotify, unixAddress } from "./sd-notify.ts";

const dir = mkdtempSync(join(tmpdir(), "weft-notify-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("sd_notify", () => {
  test("sends the state as one datagram to a path socket and to an abstract one", async () => {
    for (const address of [join(dir, "notify"), `@${join(dir, "abstract")}`]) {
      const listener = new NotifyListener(address);
      try {
        expect(sdNotify("READY=1", { NOTIFY_SOCKET: address })).toBe(true);
        await listener.waitFor("READY=1");
        expect(listener.received).toEqual(["READY=1"]);
      } finally {
        listener.close();
      }
    }
  });

  test("without NOTIFY_SOCKET nothing is sent; a name too long for sun_path is refused", () => {
    expect(sdNotify("READY=1", {})).toBe(false);
    expect(() => unixAddress("/" + "x".repeat(200))).toThrow("not a usable");
    expect(() => unixAddress("@")).toThrow("not a usable");
  });
});
