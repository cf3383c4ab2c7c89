import { describe, expect, test } from "bun:test";
import {
  appDataDir,
  installRoot,
  MissingEnvironmentError,
  runtimeDir,
  storeRoots,
  SYSTEM_APP_STORE,
  trustStoreDirs,
} from "./paths.ts";
import { assertAppId } from "../../../protocol/app-id.ts";

describe("paths", () => {
  test("store roots follow SPEC 2.0: the override alone, else the user's root then the system root", () => {
    expect(storeRoots({ WEFT_APP_STORE: "/srv/store", HOME: "/home/u" })).toEqual(["/srv/store"]);
    expect(storeRoots({ HOME: "/home/u" })).toEqual(["/home/u/.local/share/weft/apps", SYSTEM_APP_STORE]);
    expect(storeRoots({ HOME: "/home/u", XDG_DATA_HOME: "/data" })).toEqual(["/data/weft/apps", SYSTEM_APP_STORE]);
    expect(storeRoots({})).toEqual([SYSTEM_APP_STORE]);
  });

  test("relative XDG values are ignored, as the XDG spec requires", () => {
    expect(storeRoots({ HOME: "/home/u", XDG_DATA_HOME: "rel" })).toEqual([
      "/home/u/.local/share/weft/apps",
      SYSTEM_APP_STORE,
    ]);
    expect(storeRoots({ WEFT_APP_STORE: "relative/store" })).toEqual([SYSTEM_APP_STORE]);
  });

  test("install root is never the system root", () => {
    expect(installRoot({ HOME: "/home/u" })).toBe("/home/u/.local/share/weft/apps");
    expect(() => installRoot({})).toThrow(MissingEnvironmentError);
  });

  test("app data lives outside the signed package directory", () => {
    expect(appDataDir(assertAppId("org.weft.demo.notes"), { HOME: "/home/u" })).toBe(
      "/home/u/.local/share/weft/data/org.weft.demo.notes",
    );
  });

  test("an id that would escape never becomes the AppId appDataDir takes", () => {
    expect(() => appDataDir(assertAppId("../../etc"), { HOME: "/home/u" })).toThrow("not a valid app id");
    expect(() => appDataDir(assertAppId("org.weft.x/.."), { HOME: "/home/u" })).toThrow("not a valid app id");
  });

  test("runtime dir needs XDG_RUNTIME_DIR and says how to fix it", () => {
    expect(runtimeDir({ XDG_RUNTIME_DIR: "/run/user/1000" })).toBe("/run/user/1000/weft");
    expect(() => runtimeDir({})).toThrow("XDG_RUNTIME_DIR is not set");
  });

  test("trust store: user and system directories, both for trusted and revoked keys", () => {
    expect(trustStoreDirs({ HOME: "/home/u", WEFT_SYSCONFDIR: "/opt/etc" })).toEqual({
      trusted: ["/home/u/.config/weft/trusted.d", "/opt/etc/trusted.d"],
      revoked: ["/home/u/.config/weft/revoked.d", "/opt/etc/revoked.d"],
    });
    expect(trustStoreDirs({})).toEqual({ trusted: ["/etc/weft/trusted.d"], revoked: ["/etc/weft/revoked.d"] });
  });
});
