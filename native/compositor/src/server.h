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
#include <wlr/types/wlr_xdg_shell.h>

#include "weft-compositor.h"

/* A call from Bun waiting for the compositor thread (it lives on the caller's stack until done). */
enum weft_request_kind {
	WEFT_REQUEST_OPEN_CLIENT,
	WEFT_REQUEST_LIST_OUTPUTS,
	WEFT_REQUEST_CLIENT_COUNT,
	WEFT_REQUEST_STOP,
};

struct weft_request {
	enum weft_request_kind kind;
	union {
		struct {
			int fd; /* the compositor's end of the socketpair; wl_client_create takes it */
			enum weft_role role;
			uint64_t session_id;
		} open_client;
		struct {
			char *buffer;
			size_t buffer_len;
		} list_outputs;
	};
	int result;
	bool done;
	struct wl_list link; /* weft_server.requests */
};

struct weft_server {
	/* Thread hand-off: the queue, its wake-up eventfd and the start-up handshake. */
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct wl_list requests; /* weft_request.link, guarded by lock */
	bool accepting;          /* false once stop began: new requests fail with -ESHUTDOWN */
	enum { WEFT_STARTING, WEFT_RUNNING, WEFT_FAILED } state;
	char start_error[256];
	int request_fd;
	struct wl_event_source *request_source;

	struct wl_display *wl_display;
	struct wlr_backend *backend;
	struct wlr_renderer *renderer;
	struct wlr_allocator *allocator;
	struct wlr_compositor *compositor;
	struct wlr_output_layout *output_layout;
	struct wlr_scene *scene;
	struct wlr_seat *seat;

	struct wlr_xdg_shell *xdg_shell;
	struct wl_listener new_xdg_surface;
	struct wl_list views; /* weft_view.link */

	/* Privileged: only shell-role clients see these globals (client.c: client_global_filter). */
	struct wlr_screencopy_manager_v1 *screencopy;

	struct wl_list outputs; /* weft_output.link */
	struct wl_listener new_output;

	struct wl_list clients; /* weft_client.link */
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

/* An xdg toplevel and its scene node. */
struct weft_view {
	struct weft_server *server;
	struct wlr_xdg_surface *xdg_surface;
	struct wlr_scene_node *scene_node;
	struct weft_client *client; /* NULL only for a client we did not create, which cannot happen today */
	bool initial_configure_set;
	struct wl_listener commit;
	struct wl_listener map;
	struct wl_listener destroy;
	struct wl_list link; /* weft_server.views */
};

/* client.c */
void client_install_global_filter(struct weft_server *server);
int client_open(struct weft_server *server, int fd, enum weft_role role, uint64_t session_id);
struct weft_client *client_from_wl_client(struct wl_client *wl_client);

/* output.c */
void server_handle_new_output(struct wl_listener *listener, void *data);
int output_list(struct weft_server *server, char *buffer, size_t buffer_len);
bool output_first_box(struct weft_server *server, struct wlr_box *box);

/* view.c */
void server_handle_new_xdg_surface(struct wl_listener *listener, void *data);

#endif
