import { expect, test } from "bun:test";
import { DEFAULT_LAUNCH_LIMITS, launchLimits } from "./limits.ts";

test("the defaults hold when nothing is set, and each limit can be raised on its own", () => {
  expect(launchLimits({})).toEqual(DEFAULT_LAUNCH_LIMITS);
  expect(launchLimits({ WEFT_APP_READY_TIMEOUT_S: "" })).toEqual(DEFAULT_LAUNCH_LIMITS);
  expect(launchLimits({ WEFT_APP_READY_TIMEOUT_S: "300" })).toEqual({ readyMs: 300_000, windowMs: 30_000 });
  expect(launchLimits({ WEFT_APP_WINDOW_TIMEOUT_S: "3600" })).toEqual({ readyMs: 30_000, windowMs: 3_600_000 });
});

test("hostile values are refused with the variable's name, never taken as something else", () => {
  for (const value of ["0", "-5", "1.5", "3601", "1e3", " 30", "30s", "99999999999", "0x10", "Infinity", "NaN", "١٢"]) {
    expect(() => launchLimits({ WEFT_APP_READY_TIMEOUT_S: value })).toThrow(/WEFT_APP_READY_TIMEOUT_S=.* is not a whole number of seconds from 1 to 3600/);
    expect(() => launchLimits({ WEFT_APP_WINDOW_TIMEOUT_S: value })).toThrow(/WEFT_APP_WINDOW_TIMEOUT_S=/);
  }
  expect(() => launchLimits({ WEFT_APP_READY_TIMEOUT_S: "x".repeat(10_000) })).toThrow(/"x{32}"/);
});
