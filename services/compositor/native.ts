/**
 * libweft-compositor.so (native/compositor) through bun:ffi. The library runs the wlroots compositor on a
 * thread of its own; every call here queues a request for that thread and blocks until it answered (a few
 * microseconds: the compositor thread never waits on Bun). `start()` blocks while the backend starts (tens of
 * milliseconds) so its outputs exist when it returns.
 *
 * Ownership: `openClient` returns a file descriptor the caller owns (close-on-exec). `close()` disconnects
 * every client, destroys the display and joins the thread; the handle must not be used after it.
 */

import { dlopen, FFIType, toArrayBuffer, type Pointer } from "bun:ffi";
import { join } from "node:path";
import type { ClientRole, OutputRow, WindowRow } from "../../protocol/dbus/index.ts";
import type { Pixels } from "../common/image/png.ts";

/** Who a client connection belongs to: only `shell` sees privileged globals (screencopy, later the shell protocol). */
export type { ClientRole };

/** Values of `enum weft_role` in weft-compositor.h. */
const ROLE_VALUES: Record<ClientRole, number> = { shell: 0, application: 1 };

/** An output in the layout (ListOutputs' row). */
export type OutputInfo = OutputRow;

/** Default library location: $WEFT_COMPOSITOR_LIB, else the meson build inside the repository. */
export function compositorLibraryPath(): string {
  return process.env.WEFT_COMPOSITOR_LIB ?? join(import.meta.dir, "../../native/compositor/target/libweft-compositor.so");
}

const symbols = {
  weft_compositor_start: { args: [FFIType.ptr, FFIType.u64], returns: FFIType.ptr },
  weft_compositor_open_client: { args: [FFIType.ptr, FFIType.u32, FFIType.u64], returns: FFIType.i32 },
  weft_compositor_list_outputs: { args: [FFIType.ptr, FFIType.ptr, FFIType.u64], returns: FFIType.i32 },
  weft_compositor_client_count: { args: [FFIType.ptr], returns: FFIType.i32 },
  weft_compositor_take_event_fd: { args: [FFIType.ptr], returns: FFIType.i32 },
  weft_compositor_list_windows: { args: [FFIType.ptr, FFIType.ptr, FFIType.u64], returns: FFIType.i32 },
  weft_compositor_show_session: { args: [FFIType.ptr, FFIType.u64], returns: FFIType.i32 },
  weft_compositor_close_session: { args: [FFIType.ptr, FFIType.u64], returns: FFIType.i32 },
  weft_compositor_screenshot: { args: [FFIType.ptr, FFIType.ptr, FFIType.ptr, FFIType.ptr], returns: FFIType.ptr },
  weft_compositor_free: { args: [FFIType.ptr], returns: FFIType.void },
  weft_compositor_heap_bytes: { args: [], returns: FFIType.u64 },
  weft_compositor_backend_is_headless: { args: [FFIType.ptr], returns: FFIType.i32 },
  weft_compositor_test_input_enable: { args: [FFIType.ptr], returns: FFIType.i32 },
  weft_compositor_test_pointer_move: { args: [FFIType.ptr, FFIType.f64, FFIType.f64], returns: FFIType.i32 },
  weft_compositor_test_pointer_button: { args: [FFIType.ptr, FFIType.u32, FFIType.i32], returns: FFIType.i32 },
  weft_compositor_test_click: { args: [FFIType.ptr, FFIType.f64, FFIType.f64], returns: FFIType.i32 },
  weft_compositor_test_key: { args: [FFIType.ptr, FFIType.u32, FFIType.i32], returns: FFIType.i32 },
  weft_compositor_test_type_text: { args: [FFIType.ptr, FFIType.ptr, FFIType.ptr], returns: FFIType.i32 },
  weft_compositor_test_swipe: { args: [FFIType.ptr, FFIType.u32, FFIType.f64, FFIType.f64], returns: FFIType.i32 },
  // clipboard.c
  weft_compositor_clipboard_receive: { args: [FFIType.ptr, FFIType.u32, FFIType.ptr, FFIType.ptr, FFIType.u64], returns: FFIType.i32 },
  weft_compositor_clipboard_types: { args: [FFIType.ptr, FFIType.u32, FFIType.ptr, FFIType.u64], returns: FFIType.i32 },
  weft_compositor_clipboard_set: { args: [FFIType.ptr, FFIType.u32, FFIType.ptr, FFIType.u64, FFIType.ptr], returns: FFIType.i32 },
  weft_compositor_stop: { args: [FFIType.ptr], returns: FFIType.void },
} as const;

type Library = ReturnType<typeof dlopen<typeof symbols>>["symbols"];

const ESHUTDOWN = 108;
const ERANGE = 34;
const ENOENT = 2;
const ENODATA = 61;
const EINVAL = 22;

/** A mapped toplevel (ListWindows' row). */
export type WindowInfo = WindowRow;

/** A failed call into the compositor, with the errno it returned. */
export class CompositorError extends Error {
  constructor(
    message: string,
    readonly errno?: number,
  ) {
    super(message);
  }
}

function nulTerminated(bytes: Uint8Array): string {
  const end = bytes.indexOf(0);
  return Buffer.from(bytes.subarray(0, end < 0 ? bytes.length : end)).toString("utf8");
}

/** A running compositor: the handle of its thread. */
export class NativeCompositor {
  #lib: Library;
  #handle: Pointer | null;

  private constructor(lib: Library, handle: Pointer) {
    this.#lib = lib;
    this.#handle = handle;
  }

  /**
   * Starts the compositor thread with the backend wlr_backend_autocreate picks (WLR_BACKENDS, WLR_RENDERER
   * are honoured). Throws CompositorError with the library's reason when it cannot start.
   */
  static start(libraryPath = compositorLibraryPath()): NativeCompositor {
    let lib: Library;
    try {
      lib = dlopen(libraryPath, symbols).symbols;
    } catch (error) {
      throw new CompositorError(
        `cannot load ${libraryPath} (build it with scripts/setup.sh, or point WEFT_COMPOSITOR_LIB at it): ${(error as Error).message}`,
      );
    }
    const error = new Uint8Array(256);
    const handle = lib.weft_compositor_start(error, error.length);
    if (handle === null || typeof handle === "bigint") throw new CompositorError(`the compositor did not start: ${nulTerminated(error)}`);
    return new NativeCompositor(lib, handle);
  }

  #live(): Pointer {
    if (this.#handle === null) throw new CompositorError("the compositor is stopped", ESHUTDOWN);
    return this.#handle;
  }

  /** A new client connection for `sessionId` with `role`: the client's end of a socketpair (pass it as WAYLAND_SOCKET). */
  openClient(role: ClientRole, sessionId: bigint): number {
    const fd = this.#lib.weft_compositor_open_client(this.#live(), ROLE_VALUES[role], sessionId);
    if (fd < 0) throw new CompositorError(`cannot open a client connection (errno ${-fd})`, -fd);
    return fd;
  }

  listOutputs(): OutputInfo[] {
    for (let size = 4096; ; size *= 4) {
      const buffer = new Uint8Array(size);
      const length = this.#lib.weft_compositor_list_outputs(this.#live(), buffer, size);
      if (length === -ERANGE && size < 1 << 20) continue;
      if (length < 0) throw new CompositorError(`cannot list outputs (errno ${-length})`, -length);
      const text = Buffer.from(buffer.subarray(0, length)).toString("utf8");
      return text
        .split("\n")
        .filter((line) => line !== "")
        .map((line) => {
          const [name = "", x, y, width, height] = line.split("\t");
          return { name, x: Number(x), y: Number(y), width: Number(width), height: Number(height) };
        });
    }
  }

  /** Reads a list the library writes as text lines, growing the buffer while it reports -ERANGE. */
  #readLines(what: string, call: (buffer: Uint8Array, size: number) => number): string[][] {
    for (let size = 4096; ; size *= 4) {
      const buffer = new Uint8Array(size);
      const length = call(buffer, size);
      if (length === -ERANGE && size < 1 << 22) continue;
      if (length < 0) throw new CompositorError(`cannot ${what} (errno ${-length})`, -length);
      return Buffer.from(buffer.subarray(0, length))
        .toString("utf8")
        .split("\n")
        .filter((line) => line !== "")
        .map((line) => line.split("\t"));
    }
  }

  /** Mapped toplevels, most recently focused first. */
  listWindows(): WindowInfo[] {
    const handle = this.#live();
    return this.#readLines("list windows", (buffer, size) => this.#lib.weft_compositor_list_windows(handle, buffer, size)).map(
      ([id, session, role, appId = "", title = "", x, y, width, height, focused]) => ({
        id: Number(id),
        session: BigInt(session ?? 0),
        role: role === "shell" ? "shell" : "application",
        appId,
        title,
        x: Number(x),
        y: Number(y),
        width: Number(width),
        height: Number(height),
        focused: focused === "1",
      }),
    );
  }

  /** Shows `sessionId` in the application area and focuses its top window; 0n goes home. False: it has no window. */
  showSession(sessionId: bigint): boolean {
    const result = this.#lib.weft_compositor_show_session(this.#live(), sessionId);
    if (result === -ENOENT) return false;
    if (result < 0) throw new CompositorError(`cannot show session ${sessionId} (errno ${-result})`, -result);
    return true;
  }

  /** Asks every toplevel of `sessionId` to close; returns how many were asked. */
  closeSession(sessionId: bigint): number {
    const result = this.#lib.weft_compositor_close_session(this.#live(), sessionId);
    if (result < 0) throw new CompositorError(`cannot close session ${sessionId} (errno ${-result})`, -result);
    return result;
  }

  /** The pixels of `outputName` ("" = the first output) as they are composed now; null when there is no such output. */
  screenshot(outputName = ""): Pixels | null {
    const size = new Int32Array(3);
    const error = new Int32Array(1);
    const pointer = this.#lib.weft_compositor_screenshot(this.#live(), Buffer.from(`${outputName}\0`), size, error);
    if (pointer === null) {
      if (error[0] === ENOENT) return null;
      throw new CompositorError(`cannot take a screenshot (errno ${error[0]})`, error[0]);
    }
    const [width = 0, height = 0, stride = 0] = size;
    try {
      // Copied out so the library's buffer can be freed at once.
      const data = new Uint8Array(toArrayBuffer(pointer, 0, stride * height).slice(0));
      return { width, height, stride, data };
    } finally {
      this.#lib.weft_compositor_free(pointer);
    }
  }

  /**
   * Asks the selection's owner (`primary`: the primary selection) to write it as `mime` into a pipe; returns the
   * pipe's read end (the caller owns it and must read it with a limit and a timeout: see clipboard.ts) and the
   * mime type actually asked for (text types fall back to another offered text type). Failures:
   * errno ENOENT (no selection), ENODATA (`mime` not offered), EINVAL (`mime` is not a mime type).
   */
  clipboardReceive(mime: string, primary = false): { fd: number; mime: string } {
    const chosen = new Uint8Array(256);
    const fd = this.#lib.weft_compositor_clipboard_receive(this.#live(), primary ? 1 : 0, Buffer.from(`${mime}\0`), chosen, chosen.length);
    if (fd < 0) {
      const reason = fd === -ENOENT ? "nothing is copied" : fd === -ENODATA ? `the selection is not offered as ${mime}` : fd === -EINVAL ? "not a mime type" : `errno ${-fd}`;
      throw new CompositorError(`cannot read the ${primary ? "primary selection" : "clipboard"}: ${reason}`, -fd);
    }
    return { fd, mime: nulTerminated(chosen) };
  }

  /** The mime types the selection is offered as; null when nothing is copied. */
  clipboardTypes(primary = false): string[] | null {
    try {
      return this.#readLines("list the clipboard's types", (buffer, size) => this.#lib.weft_compositor_clipboard_types(this.#live(), primary ? 1 : 0, buffer, size)).map(([type]) => type ?? "");
    } catch (error) {
      if (error instanceof CompositorError && error.errno === ENOENT) return null;
      throw error;
    }
  }

  /** Makes the compositor own the selection (`primary`: the primary selection) with a copy of `data` as `mime`. */
  clipboardSet(data: Uint8Array, mime: string, primary = false): void {
    // bun:ffi passes an empty typed array as a null pointer; the library accepts that for length 0.
    const result = this.#lib.weft_compositor_clipboard_set(this.#live(), primary ? 1 : 0, data.length > 0 ? data : null, data.length, Buffer.from(`${mime}\0`));
    if (result < 0) throw new CompositorError(`cannot set the ${primary ? "primary selection" : "clipboard"} (errno ${-result})`, -result);
  }

  /** The read end of the compositor's event pipe (events.ts parses it); the caller owns it. Once only. */
  takeEventFd(): number {
    const fd = this.#lib.weft_compositor_take_event_fd(this.#live());
    if (fd < 0) throw new CompositorError(`the event pipe was already taken (errno ${-fd})`, -fd);
    return fd;
  }

  /** Bytes of the C heap in use in this process (glibc's count): for leak checks. */
  heapBytes(): number {
    return Number(this.#lib.weft_compositor_heap_bytes());
  }

  /** True when every part of the backend is headless: no real input device can exist (test-input.ts). */
  backendIsHeadless(): boolean {
    const result = this.#lib.weft_compositor_backend_is_headless(this.#live());
    if (result < 0) throw new CompositorError(`cannot ask for the backend (errno ${-result})`, -result);
    return result === 1;
  }

  /**
   * The test-only input devices (input.c): a virtual keyboard and pointer on the headless backend. Every call
   * returns 0 or -errno as the library does (weft-compositor.h lists them); test-input.ts turns them into bus
   * errors. `enable` must succeed before the others do anything but -EPERM.
   */
  readonly testInput = {
    enable: (): number => this.#lib.weft_compositor_test_input_enable(this.#live()),
    pointerMove: (x: number, y: number): number => this.#lib.weft_compositor_test_pointer_move(this.#live(), x, y),
    pointerButton: (button: number, pressed: boolean): number =>
      this.#lib.weft_compositor_test_pointer_button(this.#live(), button, pressed ? 1 : 0),
    click: (x: number, y: number): number => this.#lib.weft_compositor_test_click(this.#live(), x, y),
    key: (keycode: number, pressed: boolean): number => this.#lib.weft_compositor_test_key(this.#live(), keycode, pressed ? 1 : 0),
    /** `badOffset`: the byte offset (in UTF-8) of the first character the keymap cannot type, -1 when none. */
    typeText: (text: string): { result: number; badOffset: number } => {
      const badOffset = new Int32Array(1);
      const result = this.#lib.weft_compositor_test_type_text(this.#live(), Buffer.from(`${text}\0`, "utf8"), badOffset);
      return { result, badOffset: badOffset[0]! };
    },
    swipe: (fingers: number, dx: number, dy: number): number => this.#lib.weft_compositor_test_swipe(this.#live(), fingers, dx, dy),
  };

  /** Number of connected clients. */
  clientCount(): number {
    const count = this.#lib.weft_compositor_client_count(this.#live());
    if (count < 0) throw new CompositorError(`cannot count clients (errno ${-count})`, -count);
    return count;
  }

  /** Disconnects every client, destroys the display and joins the compositor thread. Safe to call twice. */
  close(): void {
    if (this.#handle === null) return;
    const handle = this.#handle;
    this.#handle = null;
    this.#lib.weft_compositor_stop(handle);
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
