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

/*
 * Test hook: reports a navigation gesture as if the (not yet written) gesture recogniser had seen one, through
 * the real path (layout_navigation_gesture: the event pipe and the zweft shell windows). type: 0 swipe,
 * 1 pinch, 2 hold. Returns 0, -EINVAL for another type, -ESHUTDOWN once stopping. Not used by the service.
 */
WEFT_API int weft_compositor_test_navigation_gesture(struct weft_compositor *compositor, uint32_t type,
	uint32_t fingers, double dx, double dy);

/* Releases memory the library returned. */
WEFT_API void weft_compositor_free(void *pointer);

/*
 * Disconnects every client, destroys the display and the backend, joins the thread and frees the handle.
 */
WEFT_API void weft_compositor_stop(struct weft_compositor *compositor);

#endif
