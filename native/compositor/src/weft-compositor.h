/*
 * libweft-compositor: the public surface Bun calls through bun:ffi (services/compositor/native.ts).
 *
 * Threads. weft_compositor_start() starts one pthread, "the compositor thread", which creates the Wayland
 * display, the wlroots backend and everything else, then runs wl_display_run(). Every wlroots and
 * libwayland-server call happens on that thread. The other functions here are called from Bun's thread: they
 * queue a request, wake the compositor thread through an eventfd in its wl_event_loop, and block on a
 * condition variable until the compositor thread has answered (microseconds: the compositor never waits on
 * Bun, so this cannot deadlock).
 *
 *   Bun thread                         compositor thread (wl_event_loop)
 *   ──────────                         ─────────────────────────────────
 *   weft_compositor_open_client ──┐
 *     queue request, write eventfd└──▶ request_fd readable → run request,
 *     wait on cond  ◀──────────────────  set done, broadcast cond
 *
 * All functions except start() take the handle start() returned and must not be called after stop().
 */
#ifndef WEFT_COMPOSITOR_H
#define WEFT_COMPOSITOR_H

#include <stddef.h>
#include <stdint.h>

#define WEFT_API __attribute__((visibility("default")))

struct weft_compositor;

/* Who a client connection belongs to. Only the shell sees privileged globals (screencopy, …). */
enum weft_role {
	WEFT_ROLE_SHELL = 0,
	WEFT_ROLE_APPLICATION = 1,
};

/*
 * Starts the compositor thread and waits until its backend has started (so the outputs exist). The backend
 * comes from wlr_backend_autocreate (WLR_BACKENDS, WLR_RENDERER are honoured). On failure returns NULL and
 * writes a message into error (error_len bytes, NUL-terminated).
 */
WEFT_API struct weft_compositor *weft_compositor_start(char *error, size_t error_len);

/*
 * Makes a new client connection tagged with role and session_id: a socketpair whose compositor end becomes a
 * wl_client. Returns the other end (close-on-exec; hand it to the client as WAYLAND_SOCKET) or -errno
 * (-EINVAL for an unknown role, -ESHUTDOWN once stopping).
 */
WEFT_API int weft_compositor_open_client(struct weft_compositor *compositor, uint32_t role, uint64_t session_id);

/*
 * Writes one line per output, "name\tx\ty\twidth\theight\n", NUL-terminated, into buffer. Returns the length
 * without the NUL, -ERANGE when buffer is too small, -ESHUTDOWN once stopping.
 */
WEFT_API int weft_compositor_list_outputs(struct weft_compositor *compositor, char *buffer, size_t buffer_len);

/* Number of connected clients (tests use it to see disconnected clients are gone). */
WEFT_API int weft_compositor_client_count(struct weft_compositor *compositor);

/*
 * The read end of the event pipe: one text line per event (events.c lists them), tab-separated. The caller
 * owns it after this call (read it until end of file, which comes after stop()); a second call gets -EBUSY.
 */
WEFT_API int weft_compositor_take_event_fd(struct weft_compositor *compositor);

/*
 * Writes one line per mapped window, most recently focused first:
 * "id\tsession\trole\tapp_id\ttitle\tx\ty\twidth\theight\tfocused\n" (text fields without tabs or
 * newlines). Returns the length, -ERANGE when buffer is too small, -ESHUTDOWN once stopping.
 */
WEFT_API int weft_compositor_list_windows(struct weft_compositor *compositor, char *buffer, size_t buffer_len);

/* Shows session_id in the application area and focuses its top window (0: home, the shell). -ENOENT: no window. */
WEFT_API int weft_compositor_show_session(struct weft_compositor *compositor, uint64_t session_id);

/* Asks every toplevel of session_id to close (xdg_toplevel.close); returns how many were asked. */
WEFT_API int weft_compositor_close_session(struct weft_compositor *compositor, uint64_t session_id);

/*
 * Renders output_name ("" or NULL: the first output) and returns its pixels, little-endian ARGB8888 rows
 * (size_out: width, height, stride), to be released with weft_compositor_free; NULL with *error_out = errno
 * (ENOENT: no such output).
 */
WEFT_API uint8_t *weft_compositor_screenshot(struct weft_compositor *compositor, const char *output_name,
	int32_t *size_out, int32_t *error_out);

/* Bytes of the C heap in use, process-wide (glibc mallinfo2): leak checks in tests and benchmarks. */
WEFT_API uint64_t weft_compositor_heap_bytes(void);
/*
 * Test input (input.c): a virtual keyboard and pointer on the headless backend, for tests and scripted demos.
 * Bun enables it only on a headless-only backend or when WEFT_COMPOSITOR_TEST_INPUT=1 (services/compositor/
 * test-input.ts says why). Every test function returns 0 or -errno: -EPERM before test_input_enable succeeded,
 * -EINVAL for a NaN/infinite coordinate, a keycode the keymap has no key for, a button outside BTN_MISC..
 * BTN_GEAR_UP or fingers outside 1..10, -ESHUTDOWN once stopping.
 */
/* 1 when every part of the backend is headless (no real input device can exist), else 0. */
WEFT_API int weft_compositor_backend_is_headless(struct weft_compositor *compositor);
/* Adds the virtual keyboard and pointer (idempotent). -ENODEV: the backend has no headless part to add them to. */
WEFT_API int weft_compositor_test_input_enable(struct weft_compositor *compositor);
/* Moves the pointer to (x, y) in layout coordinates and delivers enter/motion. -EDOM: not inside an output. */
WEFT_API int weft_compositor_test_pointer_move(struct weft_compositor *compositor, double x, double y);
/* Presses (pressed != 0) or releases a pointer button (linux/input-event-codes.h, BTN_LEFT = 0x110). */
WEFT_API int weft_compositor_test_pointer_button(struct weft_compositor *compositor, uint32_t button, int32_t pressed);
/* Moves to (x, y) (via a point 1 px away, so the target arrives as a motion), presses and releases BTN_LEFT. */
WEFT_API int weft_compositor_test_click(struct weft_compositor *compositor, double x, double y);
/* Presses or releases an evdev keycode on the virtual keyboard. -EALREADY: pressing a held key or releasing a
 * key that is not held; -EMLINK: 32 keys are held already. */
WEFT_API int weft_compositor_test_key(struct weft_compositor *compositor, uint32_t keycode, int32_t pressed);
/*
 * Types UTF-8 text: each character as its key of the keymap's first layout, with Shift when needed ('\n' is
 * Return). -EILSEQ when a character has no such key or the text is not UTF-8 (*bad_offset: its byte offset;
 * nothing was typed); -EBUSY while a key is held on the virtual keyboard.
 */
WEFT_API int weft_compositor_test_type_text(struct weft_compositor *compositor, const char *text, int32_t *bad_offset);
/* A touchpad swipe through the navigation recogniser: fingers 1..10, total displacement (dx, dy) in logical px. */
WEFT_API int weft_compositor_test_swipe(struct weft_compositor *compositor, uint32_t fingers, double dx, double dy);
/* ---- clipboard (clipboard.c) ---------------------------------------------------------------------- */

/* Limits: a mime type is 1..WEFT_CLIPBOARD_MIME_MAX printable ASCII bytes; Bun sets at most this many bytes. */
#define WEFT_CLIPBOARD_MIME_MAX 255
#define WEFT_CLIPBOARD_MAX_BYTES (16u << 20)

/*
 * Asks the owner of the selection (primary != 0: the primary selection) to write it as `mime` into a new pipe
 * and returns the pipe's read end (close-on-exec, blocking; the caller owns it and must read it with a
 * timeout and a size limit: the owner is another client and may never write or never close). For the text
 * types (text/plain;charset=utf-8, text/plain, UTF8_STRING, TEXT, STRING) an offered text type is taken when
 * the exact one is not offered. The type used is written into chosen (chosen_len bytes, NUL-terminated).
 * -ENOENT: no selection; -ENODATA: `mime` not offered; -EINVAL: `mime` is not a mime type; -ESHUTDOWN.
 */
WEFT_API int weft_compositor_clipboard_receive(struct weft_compositor *compositor, uint32_t primary, const char *mime,
	char *chosen, size_t chosen_len);

/* The selection's offered mime types, one per line (control characters replaced), NUL-terminated. Returns the
 * length, -ENOENT when there is no selection, -ERANGE when buffer is too small. */
WEFT_API int weft_compositor_clipboard_types(struct weft_compositor *compositor, uint32_t primary, char *buffer,
	size_t buffer_len);

/*
 * Makes the compositor own the selection (primary != 0: the primary selection) with a copy of data (length
 * bytes, 0 allowed: empty text). A text mime type is offered under every text name; another one as itself.
 * Returns 0, -EINVAL (bad mime type, more than WEFT_CLIPBOARD_MAX_BYTES), -ENOMEM, -ESHUTDOWN.
 */
WEFT_API int weft_compositor_clipboard_set(struct weft_compositor *compositor, uint32_t primary, const uint8_t *data,
	size_t length, const char *mime);

/* Releases memory the library returned. */
WEFT_API void weft_compositor_free(void *pointer);

/*
 * Disconnects every client, destroys the display and the backend, joins the thread and frees the handle.
 */
WEFT_API void weft_compositor_stop(struct weft_compositor *compositor);

#endif
