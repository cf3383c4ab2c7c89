/*
 * Internal structures of libweft-compositor, one per concept, tinywl style. Everything here is owned and
 * touched by the compositor thread only, except the request queue (guarded by weft_server.lock).
 */
#ifndef WEFT_SERVER_H
#define WEFT_SERVER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <wayland-server-core.h>
#include <wlr/backend.h>
#include <wlr/render/allocator.h>
#include <wlr/render/wlr_renderer.h>
#include <wlr/types/wlr_compositor.h>
#include <wlr/types/wlr_data_device.h>
#include <wlr/types/wlr_output.h>
#include <wlr/types/wlr_output_layout.h>
#include <wlr/types/wlr_scene.h>
#include <wlr/types/wlr_screencopy_v1.h>
#include <wlr/types/wlr_seat.h>
#include <wlr/types/wlr_xdg_decoration_v1.h>
#include <wlr/types/wlr_xdg_shell.h>

#include "weft-compositor.h"

struct weft_server;
struct weft_view;
struct weft_input;

/* A function a module runs on the compositor thread for Bun (server_call_on_thread). Returns >= 0 or -errno. */
typedef int (*weft_thread_fn)(struct weft_server *server, void *arg);

/*
 * The one way Bun's thread crosses to the compositor thread: a call of fn(server, arg) there, waited for. It lives
 * on the caller's stack until done.
 */
struct weft_request {
	weft_thread_fn fn;
	void *arg;
	int result;
	bool done;
	struct wl_list link; /* weft_server.requests */
};

/* A rectangle a shell surface keeps for itself at an output edge (zweft panel, layer-shell exclusive zone). */
struct weft_reservation {
	struct wlr_box box; /* layout coordinates; only a strip spanning a whole output edge reserves space */
	struct wl_list link; /* weft_server.reservations */
};

struct weft_server {
	/* Thread hand-off: the queue, its wake-up eventfd and the start-up handshake. */
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct wl_list requests; /* weft_request.link, guarded by lock */
	bool accepting;          /* false once stop began: new requests fail with -ESHUTDOWN */
	bool stopping;           /* teardown running on the compositor thread: no layout work, no events */
	enum { WEFT_STARTING, WEFT_RUNNING, WEFT_FAILED } state;
	char start_error[256];
	int request_fd;
	struct wl_event_source *request_source;

	/* Events to Bun: lines written by the compositor thread, read by Bun (events.c). */
	int event_read_fd, event_write_fd;
	uint64_t events_dropped; /* lines that did not fit into the pipe (Bun not reading) */

	struct wl_display *wl_display;
	struct wlr_backend *backend;
	struct wlr_backend *headless_backend; /* the headless part of the backend, NULL on a real seat or nested */
	struct wlr_renderer *renderer;
	struct wlr_allocator *allocator;
	struct wlr_compositor *compositor;
	struct wlr_output_layout *output_layout;
	struct wlr_scene *scene;
	struct wlr_seat *seat;

	/*
	 * The scene, bottom to top (layout.c): layer-shell background; the shell's own toplevels (full output);
	 * application toplevels (the application area, only the shown session's enabled); panels (zweft panel
	 * surfaces, layer-shell top); overlays (zweft overlay surfaces, layer-shell overlay).
	 */
	struct wlr_scene_tree *layer_background, *layer_shell, *layer_apps, *layer_panels, *layer_overlay;

	struct wlr_xdg_shell *xdg_shell;
	struct wl_listener new_xdg_surface;
	struct wlr_xdg_decoration_manager_v1 *xdg_decoration;
	struct wl_listener new_toplevel_decoration;
	struct wl_list views; /* weft_view.link, most recently focused first */
	uint32_t next_view_id;

	/* Layout state (layout.c). */
	struct wl_list reservations; /* weft_reservation.link */
	struct wlr_box app_area;     /* the application area in layout coordinates: first output minus reservations */
	uint64_t shown_session;      /* the session whose toplevels fill the application area; 0: none (home) */
	struct weft_view *focused_view; /* has keyboard focus; NULL when none */

	/* Privileged: only shell-role clients see these globals (client.c: client_global_filter). */
	struct wlr_screencopy_manager_v1 *screencopy;
#define WEFT_MAX_PRIVILEGED_GLOBALS 8
	const struct wl_global *privileged_globals[WEFT_MAX_PRIVILEGED_GLOBALS];
	size_t privileged_global_count;

	struct wl_list outputs; /* weft_output.link */
	struct wl_listener new_output;

	struct wl_list clients; /* weft_client.link */

	/* Keyboards, pointers, the cursor and the test input devices (input.c). */
	struct weft_input *input;

	/* zweft_shell_unstable_v1 (shell.c) and wlr-layer-shell (layer.c), both privileged. */
	struct weft_shell *shell;
	struct weft_layer_shell *layer_shell_v1;

	/* Signals other modules listen to (all emitted on the compositor thread). */
	struct {
		struct wl_signal focus_changed;      /* data: struct weft_view * (NULL: nothing focused) */
		struct wl_signal layout_changed;     /* outputs or reservations changed; data: NULL */
		struct wl_signal navigation_gesture; /* data: struct weft_gesture * */
	} events;

	/* Clipboard (clipboard.c): the seat's selection and primary selection. */
	struct wlr_primary_selection_v1_device_manager *primary_selection;
	struct wl_listener request_set_selection;
	struct wl_listener request_set_primary_selection;
};

/* A recognised navigation gesture (a 3+-finger swipe, or its keyboard shortcut on headless). */
enum weft_gesture_type {
	WEFT_GESTURE_SWIPE = 0,
	WEFT_GESTURE_PINCH = 1,
	WEFT_GESTURE_HOLD = 2,
};

struct weft_gesture {
	enum weft_gesture_type type;
	uint32_t fingers;
	double dx, dy; /* total displacement in logical pixels */
};

/* One wl_client we created for Bun, with the role and session it was opened for. */
struct weft_client {
	struct weft_server *server;
	struct wl_client *wl_client;
	enum weft_role role;
	uint64_t session_id;
	struct wl_listener destroy;
	struct wl_list link; /* weft_server.clients */
};

struct weft_output {
	struct weft_server *server;
	struct wlr_output *wlr_output;
	struct wl_listener frame;
	struct wl_listener destroy;
	struct wl_list link; /* weft_server.outputs */
};

/* An xdg toplevel: a window of a session, with its place in the layout (layout.c). */
struct weft_view {
	struct weft_server *server;
	uint32_t id;                /* stable for the view's life, never reused while the compositor runs */
	struct wlr_xdg_surface *xdg_surface;
	struct weft_client *client; /* who made it: role and session */
	struct wlr_box geometry;    /* where the layout put it, layout coordinates */
	struct wlr_scene_tree *tree; /* ours: enabled only while the view's session is shown; data = the view */
	struct wlr_box configured;  /* the size last sent in a configure (0x0: none yet) */
	bool initial_commit_seen;   /* the client asked for its first configure: we may configure it now */
	bool mapped;
	bool announced;             /* window-mapped was sent to Bun (so window-closed is owed) */
	struct wl_listener commit;
	struct wl_listener map;
	struct wl_listener unmap;
	struct wl_listener destroy;
	struct wl_listener request_maximize;
	struct wl_listener request_fullscreen;
	struct wl_listener set_title;
	struct wl_listener set_app_id;
	struct wl_list link; /* weft_server.views */
};

/* server.c: runs fn on the compositor thread and returns its result (-ESHUTDOWN once stopping). Bun thread only. */
int server_call_on_thread(struct weft_server *server, weft_thread_fn fn, void *arg);

/* client.c */
void client_install_global_filter(struct weft_server *server);
int client_open(struct weft_server *server, int fd, enum weft_role role, uint64_t session_id);
struct weft_client *client_from_wl_client(struct wl_client *wl_client);
/* Registers a global only shell-role clients may see and bind (the filter consults this list). */
void client_add_privileged_global(struct weft_server *server, const struct wl_global *global);

/* output.c */
void server_handle_new_output(struct wl_listener *listener, void *data);
int output_list(struct weft_server *server, char *buffer, size_t buffer_len);
bool output_first_box(struct weft_server *server, struct wlr_box *box);
struct weft_output *output_by_name(struct weft_server *server, const char *name); /* NULL/"" = first output */

/* events.c: the events to Bun, one writer each (protocol/compositor-events.ts is their table). */
bool events_init(struct weft_server *server);
void events_finish(struct weft_server *server);
void event_window_mapped(struct weft_server *server, uint32_t id, uint64_t session, const char *role, const char *app_id,
	const char *title, int x, int y, int width, int height);
void event_window_changed(struct weft_server *server, uint32_t id, uint64_t session, const char *app_id, const char *title);
void event_window_closed(struct weft_server *server, uint32_t id, uint64_t session);
/* id 0, session 0: nothing has keyboard focus. */
void event_focus(struct weft_server *server, uint32_t id, uint64_t session);
void event_gesture(struct weft_server *server, uint32_t type, uint32_t fingers, double dx, double dy);
/* Copies src into dst (dst_len bytes) with tabs, newlines and other control characters replaced by spaces. */
const char *event_text(char *dst, size_t dst_len, const char *src);

/* view.c: a toplevel's life (created, mapped, retitled, unmapped, destroyed) and what it is. */
void server_handle_new_xdg_surface(struct wl_listener *listener, void *data);
bool view_is_shell(const struct weft_view *view);
uint64_t view_session(const struct weft_view *view);
const char *view_role_name(const struct weft_view *view); /* "shell" or "application" */

/* decoration.c: every toplevel is decorated server side. */
void server_handle_new_toplevel_decoration(struct wl_listener *listener, void *data);

/* layout.c: where every toplevel goes and who has the keyboard. */
bool layout_init(struct weft_server *server);
/* A dialog (a toplevel with a parent) keeps its own size, centred in the area; every other toplevel fills it. */
void view_place(struct weft_view *view);
/* Enables the views of the shown session (and the shell's) in the scene, disables the others. */
void layout_update_visibility(struct weft_server *server);
/* After gone stopped being focusable: its session's next window, else home. */
void layout_focus_after(struct weft_server *server, struct weft_view *gone);
/* Recomputes the application area and places every view (after output or reservation changes). */
void layout_arrange(struct weft_server *server);
/* Gives view keyboard focus (NULL: none), raises it, shows its session in the application area. */
void layout_focus_view(struct weft_server *server, struct weft_view *view);
/* Shows session in the application area and focuses its top window; 0 = home (the shell). -ENOENT: no window. */
int layout_show_session(struct weft_server *server, uint64_t session);
/* The view whose scene node contains the surface at (lx, ly), if any, and that surface with local coordinates. */
struct weft_view *layout_view_at(struct weft_server *server, double lx, double ly,
	struct wlr_surface **surface, double *sx, double *sy);
/* The session's window ids etc. for Bun: one line per view (see weft-compositor.h). */
int layout_list_windows(struct weft_server *server, char *buffer, size_t buffer_len);
/* Asks every toplevel of session to close; returns how many were asked. */
int layout_close_session(struct weft_server *server, uint64_t session);
/* A navigation gesture was recognised: tell Bun and the zweft shell windows (events.navigation_gesture). */
void layout_navigation_gesture(struct weft_server *server, const struct weft_gesture *gesture);
/* The application area changed because a reservation was added, moved or removed. */
void layout_reservations_changed(struct weft_server *server);

/* input.c: before wlr_backend_start (devices arrive through new_input); finish before the backend is destroyed. */
bool input_init(struct weft_server *server);
void input_finish(struct weft_server *server);

/* shell.c: the zweft_shell_manager_v1 global (privileged) and its windows. */
bool shell_init(struct weft_server *server);
void shell_finish(struct weft_server *server); /* after the clients are gone */

/* layer.c: the zwlr_layer_shell_v1 global (privileged), layer surfaces placed on the first output. */
bool layer_init(struct weft_server *server);
void layer_finish(struct weft_server *server); /* after the clients are gone */

/* screenshot.c */
int screenshot_output(struct weft_server *server, const char *output_name, uint8_t **pixels, int *width, int *height, int *stride);

/* clipboard.c */
bool clipboard_init(struct weft_server *server);
void clipboard_finish(struct weft_server *server); /* before the seat goes: drops our sources and listeners */
int clipboard_receive(struct weft_server *server, bool primary, const char *mime, char *chosen, size_t chosen_len);
int clipboard_list_types(struct weft_server *server, bool primary, char *buffer, size_t buffer_len);
/* Takes ownership of bytes on success (returns 0). */
int clipboard_set(struct weft_server *server, bool primary, uint8_t *bytes, size_t length, const char *mime);

#endif
