/**
 * org.weft.Compositor1.TestInput (protocol/dbus/org.weft.Compositor1.TestInput.xml): synthetic keyboard,
 * pointer and touchpad input for tests and scripted demos, through a virtual keyboard and pointer the native
 * compositor adds to its headless backend (native/compositor/src/input.c).
 *
 * When it exists. Synthetic input on a real seat would let any process running as the user type into the
 * user's windows (a password field included) and click "allow" in the shell's prompts. So the interface is
 * exported only where no human input can exist, a backend that is headless and nothing else, or when the
 * person starting the compositor asks for it with WEFT_COMPOSITOR_TEST_INPUT=1 (e.g. a nested compositor with
 * WLR_BACKENDS=wayland,headless on a developer's desktop). Even then it needs a headless part to add the
 * virtual devices to; without one it stays off and the log says why.
 */

import * as v from "valibot";
import { Compositor, Compositor1TestInput } from "../../protocol/dbus/index.ts";
import { busError, requireSameUid, type BusConnection, type Served } from "../common/bus/index.ts";
import type { Logger } from "../common/daemon/log.ts";
import type { NativeCompositor } from "./native.ts";

/** The environment variable that asks for test input on a backend that is not headless-only. */
export const TEST_INPUT_FLAG = "WEFT_COMPOSITOR_TEST_INPUT";

/** linux/input-event-codes.h */
export const BTN_LEFT = 0x110;
export const KEY_LEFTSHIFT = 42;

/** Longest text TypeText accepts, in characters: a test types lines, not documents. */
export const MAX_TYPED_CHARACTERS = 4096;
/** Largest swipe displacement accepted on each axis, in logical pixels (far beyond any touchpad). */
export const MAX_SWIPE_DISTANCE = 100_000;

export type TestInputDecision =
  | { enable: true; why: "headless backend" | `${typeof TEST_INPUT_FLAG}=1` }
  | { enable: false; why: string };

/**
 * Whether to offer test input: on a headless-only backend always; otherwise only with WEFT_COMPOSITOR_TEST_INPUT=1
 * (exactly "1": a typo must not switch synthetic input on, and "0" must not either).
 */
export function decideTestInput(backendIsHeadless: boolean, env: Record<string, string | undefined>): TestInputDecision {
  if (backendIsHeadless) return { enable: true, why: "headless backend" };
  if (env[TEST_INPUT_FLAG] === "1") return { enable: true, why: `${TEST_INPUT_FLAG}=1` };
  return { enable: false, why: `the backend has real input devices and ${TEST_INPUT_FLAG} is not 1` };
}

const ENODEV = 19;
const EPERM = 1;
const EINVAL = 22;
const EDOM = 33;
const EILSEQ = 84;
const EBUSY = 16;
const EALREADY = 114;
const EMLINK = 31;

/** Decides, enables the virtual devices and exports TestInput; null (and a log line saying why) when it stays off. */
export function exportTestInputIfAllowed(
  bus: BusConnection,
  compositor: NativeCompositor,
  log: Logger,
  env: Record<string, string | undefined>,
): Served<typeof Compositor1TestInput> | null {
  const decision = decideTestInput(compositor.backendIsHeadless(), env);
  if (!decision.enable) {
    log.info("test input off", { why: decision.why });
    return null;
  }
  const enabled = compositor.testInput.enable();
  if (enabled === -ENODEV) {
    log.warn("test input unavailable: the backend has no headless part for the virtual devices (add headless to WLR_BACKENDS)", {
      why: decision.why,
    });
    return null;
  }
  if (enabled < 0) throw new Error(`cannot add the test input devices (errno ${-enabled})`);
  const service = exportTestInput(bus, compositor);
  log.info("test input on: org.weft.Compositor1.TestInput is exported", { why: decision.why });
  return service;
}

function invalid(message: string): never {
  throw busError(Compositor1TestInput, "InvalidArgs", message);
}

const FiniteSchema = v.pipe(v.number(), v.finite());

function checkPoint(x: number, y: number): void {
  if (!v.is(FiniteSchema, x) || !v.is(FiniteSchema, y)) invalid(`the point (${x}, ${y}) is not finite: pass layout coordinates (see ListOutputs)`);
}

/** Turns the library's -errno into the bus error the contract names. */
function check(result: number, what: string, messages: Partial<Record<number, string>> = {}): void {
  if (result >= 0) return;
  const errno = -result;
  const message = messages[errno];
  if (message !== undefined) invalid(message);
  if (errno === EPERM) throw busError(Compositor1TestInput, "Failed", `${what}: test input is not enabled`);
  throw busError(Compositor1TestInput, "Failed", `${what} failed (errno ${errno})`);
}

const outside = (x: number, y: number) => ({ [EDOM]: `the point (${x}, ${y}) is not inside an output: pass layout coordinates (see ListOutputs)` });

/** Exports TestInput for `compositor` (whose test input must be enabled) at /org/weft/Compositor1. */
export function exportTestInput(bus: BusConnection, compositor: NativeCompositor): Served<typeof Compositor1TestInput> {
  const input = compositor.testInput;
  return bus.serve(Compositor1TestInput, Compositor.path, {
    methods: {
      PointerMove: async ([x, y], ctx) => {
        await requireSameUid(ctx, Compositor1TestInput);
        checkPoint(x, y);
        check(input.pointerMove(x, y), "PointerMove", outside(x, y));
      },
      PointerButton: async ([button, pressed], ctx) => {
        await requireSameUid(ctx, Compositor1TestInput);
        check(input.pointerButton(button, pressed), "PointerButton", {
          [EINVAL]: `button ${button} is not a pointer button: use a BTN_* code from linux/input-event-codes.h (BTN_LEFT = ${BTN_LEFT})`,
        });
      },
      Click: async ([x, y], ctx) => {
        await requireSameUid(ctx, Compositor1TestInput);
        checkPoint(x, y);
        check(input.click(x, y), "Click", outside(x, y));
      },
      Key: async ([keycode, pressed], ctx) => {
        await requireSameUid(ctx, Compositor1TestInput);
        check(input.key(keycode, pressed), "Key", {
          [EINVAL]: `keycode ${keycode} is not a key of the keymap: pass an evdev KEY_* code from linux/input-event-codes.h`,
          [EALREADY]: pressed ? `key ${keycode} is already held: release it first` : `key ${keycode} is not held: press it first`,
          [EMLINK]: "32 keys are held already: release some first",
        });
      },
      TypeText: async ([text], ctx) => {
        await requireSameUid(ctx, Compositor1TestInput);
        const characters = [...text];
        if (characters.length > MAX_TYPED_CHARACTERS) invalid(`text has ${characters.length} characters: type at most ${MAX_TYPED_CHARACTERS} per call`);
        if (text.includes("\0")) invalid("text contains NUL, which no key types");
        const { result, badOffset } = input.typeText(text);
        if (result === -EILSEQ) {
          const prefix = Buffer.from(text, "utf8").subarray(0, Math.max(badOffset, 0)).toString("utf8");
          const bad = [...text.slice(prefix.length)][0] ?? "";
          const code = `U+${(bad.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, "0")}`;
          invalid(`cannot type ${code} ${JSON.stringify(bad)} (character ${[...prefix].length + 1}): the keymap has no key for it; nothing was typed`);
        }
        check(result, "TypeText", { [EBUSY]: "a key is held on the test keyboard: release it (Key(keycode, false)) before TypeText" });
      },
      Swipe: async ([fingers, dx, dy], ctx) => {
        await requireSameUid(ctx, Compositor1TestInput);
        if (fingers < 1 || fingers > 10) invalid(`fingers ${fingers} is not what a touchpad reports: pass 1 to 10`);
        if (!v.is(FiniteSchema, dx) || !v.is(FiniteSchema, dy) || Math.abs(dx) > MAX_SWIPE_DISTANCE || Math.abs(dy) > MAX_SWIPE_DISTANCE) {
          invalid(`the displacement (${dx}, ${dy}) must be finite and at most ${MAX_SWIPE_DISTANCE} px on each axis`);
        }
        check(input.swipe(fingers, dx, dy), "Swipe");
      },
    },
  });
}
