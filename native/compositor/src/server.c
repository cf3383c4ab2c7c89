/*
 * The server: start-up as one checked sequence on the compositor thread, the request queue Bun's thread
 * talks through, and teardown in reverse. See weft-compositor.h for the threading picture.
 */
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>
#include <wlr/backend/headless.h>
#include <wlr/backend/multi.h>
#include <wlr/types/wlr_viewporter.h>
#include <wlr/types/wlr_xdg_output_v1.h>
#include <wlr/util/log.h>

#include "server.h"

/* ---- the request queue (compositor-thread side) --------------------------------------------------- */

static int server_handle_request_fd(int fd, uint32_t mask, void *data) {
	struct weft_server *server = data;
	uint64_t count;
	/* The eventfd only says "look at the queue": its counter is drained, the queue holds the work. */
	if (read(fd, &count, sizeof(count)) < 0 && errno != EAGAIN) {
		wlr_log_errno(WLR_ERROR, "reading the request eventfd");
	}

	/* Take the whole batch, run it without the lock (Bun's thread only waits), then answer. */
	struct wl_list batch;
	wl_list_init(&batch);
	pthread_mutex_lock(&server->lock);
	wl_list_insert_list(&batch, &server->requests);
	wl_list_init(&server->requests);
	pthread_mutex_unlock(&server->lock);

	struct weft_request *request;
	wl_list_for_each(request, &batch, link) {
		request->result = request->fn(server, request->arg);
	}

	pthread_mutex_lock(&server->lock);
	struct weft_request *tmp;
	wl_list_for_each_safe(request, tmp, &batch, link) {
		wl_list_remove(&request->link);
		request->done = true;
	}
	pthread_cond_broadcast(&server->cond);
	pthread_mutex_unlock(&server->lock);
	return 0;
}

/* ---- the request queue (Bun-thread side) --------------------------------------------------------- */

/* Runs fn(server, arg) on the compositor thread and waits for its result. always: even when stopping. */
static int server_call(struct weft_server *server, weft_thread_fn fn, void *arg, bool always) {
	struct weft_request storage = { .fn = fn, .arg = arg };
	struct weft_request *request = &storage;
	pthread_mutex_lock(&server->lock);
	if (!server->accepting && !always) {
		pthread_mutex_unlock(&server->lock);
		return -ESHUTDOWN;
	}
	request->done = false;
	wl_list_insert(server->requests.prev, &request->link);
	uint64_t one = 1;
	if (write(server->request_fd, &one, sizeof(one)) < 0) {
		/* Only fails if the counter would overflow: the thread is already awake then. */
	}
	while (!request->done) {
		pthread_cond_wait(&server->cond, &server->lock);
	}
	pthread_mutex_unlock(&server->lock);
	return request->result;
}

int server_call_on_thread(struct weft_server *server, weft_thread_fn fn, void *arg) {
	return server_call(server, fn, arg, false);
}

/* ---- start-up and teardown (compositor thread) --------------------------------------------------- */

static bool server_fail(struct weft_server *server, const char *format, ...) {
	va_list args;
	va_start(args, format);
	vsnprintf(server->start_error, sizeof(server->start_error), format, args);
	va_end(args);
	return false;
}

static void server_find_headless(struct wlr_backend *backend, void *data) {
	struct weft_server *server = data;
	if (wlr_backend_is_headless(backend)) {
		server->headless_backend = backend;
	}
}

/* Creates everything in order; on failure, what was created is torn down by server_destroy. */
static bool server_init(struct weft_server *server) {
	server->wl_display = wl_display_create();
	if (server->wl_display == NULL) {
		return server_fail(server, "unable to create the Wayland display");
	}
	if (!events_init(server)) {
		return server_fail(server, "unable to create the event pipe: %s", strerror(errno));
	}
	/* Installed before any client exists, so no registry is ever sent an unfiltered global. */
	client_install_global_filter(server);

	struct wl_event_loop *loop = wl_display_get_event_loop(server->wl_display);
	server->request_source = wl_event_loop_add_fd(loop, server->request_fd, WL_EVENT_READABLE,
		server_handle_request_fd, server);
	if (server->request_source == NULL) {
		return server_fail(server, "unable to watch the request eventfd");
	}

	/* Honours WLR_BACKENDS (headless in CI, x11/wayland nested, DRM with a session on a seat). */
	server->backend = wlr_backend_autocreate(server->wl_display);
	if (server->backend == NULL) {
		return server_fail(server, "unable to create the wlroots backend (WLR_BACKENDS=%s)",
			getenv("WLR_BACKENDS") ? getenv("WLR_BACKENDS") : "(unset)");
	}
	/* autocreate returns a multi backend; the headless part (if any) is where test input devices are added. */
	if (wlr_backend_is_multi(server->backend)) {
		wlr_multi_for_each_backend(server->backend, server_find_headless, server);
	} else if (wlr_backend_is_headless(server->backend)) {
		server->headless_backend = server->backend;
	}
	/* Without a GPU this is the pixman renderer; it also sets up wl_shm for the display. */
	server->renderer = wlr_renderer_autocreate(server->backend);
	if (server->renderer == NULL) {
		return server_fail(server, "unable to create a renderer (WLR_RENDERER=%s)",
			getenv("WLR_RENDERER") ? getenv("WLR_RENDERER") : "(unset)");
	}
	if (!wlr_renderer_init_wl_display(server->renderer, server->wl_display)) {
		return server_fail(server, "unable to set up wl_shm for the renderer");
	}
	server->allocator = wlr_allocator_autocreate(server->backend, server->renderer);
	if (server->allocator == NULL) {
		return server_fail(server, "unable to create the buffer allocator");
	}

	/* wlroots 0.15's wlr_compositor also creates wl_subcompositor. */
	server->compositor = wlr_compositor_create(server->wl_display, server->renderer);
	if (server->compositor == NULL) {
		return server_fail(server, "unable to create wl_compositor");
	}
	if (wlr_data_device_manager_create(server->wl_display) == NULL) {
		return server_fail(server, "unable to create wl_data_device_manager");
	}

	if (wlr_viewporter_create(server->wl_display) == NULL) {
		return server_fail(server, "unable to create wp_viewporter");
	}

	server->output_layout = wlr_output_layout_create();
	if (server->output_layout == NULL) {
		return server_fail(server, "unable to create the output layout");
	}
	if (wlr_xdg_output_manager_v1_create(server->wl_display, server->output_layout) == NULL) {
		return server_fail(server, "unable to create zxdg_output_manager_v1");
	}
	server->scene = wlr_scene_create();
	if (server->scene == NULL || !wlr_scene_attach_output_layout(server->scene, server->output_layout) ||
			!layout_init(server)) {
		return server_fail(server, "unable to create the scene graph");
	}

	server->xdg_shell = wlr_xdg_shell_create(server->wl_display);
	if (server->xdg_shell == NULL) {
		return server_fail(server, "unable to create xdg_wm_base");
	}
	server->new_xdg_surface.notify = server_handle_new_xdg_surface;
	wl_signal_add(&server->xdg_shell->events.new_surface, &server->new_xdg_surface);
	server->xdg_decoration = wlr_xdg_decoration_manager_v1_create(server->wl_display);
	if (server->xdg_decoration == NULL) {
		return server_fail(server, "unable to create zxdg_decoration_manager_v1");
	}
	server->new_toplevel_decoration.notify = server_handle_new_toplevel_decoration;
	wl_signal_add(&server->xdg_decoration->events.new_toplevel_decoration, &server->new_toplevel_decoration);

	server->seat = wlr_seat_create(server->wl_display, "seat0");
	if (server->seat == NULL) {
		return server_fail(server, "unable to create the seat");
	}
	if (!clipboard_init(server)) {
		return server_fail(server, "unable to create zwp_primary_selection_device_manager_v1");
	}

	if (!input_init(server)) {
		return server_fail(server, "unable to set up input (the XKB keymap, the cursor or zwp_pointer_gestures_v1): "
			"check XKB_DEFAULT_LAYOUT and that xkb-data is installed");
	}

	server->screencopy = wlr_screencopy_manager_v1_create(server->wl_display);
	if (server->screencopy == NULL) {
		return server_fail(server, "unable to create zwlr_screencopy_manager_v1");
	}
	client_add_privileged_global(server, server->screencopy->global);

	if (!shell_init(server)) {
		return server_fail(server, "unable to create zweft_shell_manager_v1");
	}
	if (!layer_init(server)) {
		return server_fail(server, "unable to create zwlr_layer_shell_v1");
	}

	/* Outputs of the headless backend appear during wlr_backend_start, so they exist when we report ready. */
	server->new_output.notify = server_handle_new_output;
	wl_signal_add(&server->backend->events.new_output, &server->new_output);
	if (!wlr_backend_start(server->backend)) {
		return server_fail(server, "unable to start the wlroots backend");
	}
	return true;
}

/* Releases in reverse order whatever server_init created; safe after a partial init. */
static void server_destroy(struct weft_server *server) {
	if (server->wl_display == NULL) {
		return;
	}
	server->stopping = true; /* teardown: no re-arranging or events while things disappear */
	/* Clients first: their surfaces reference the scene, outputs and shell. */
	wl_display_destroy_clients(server->wl_display);
	shell_finish(server);
	layer_finish(server);
	input_finish(server); /* our listeners leave the input devices before the backend destroys them */
	if (server->backend != NULL) {
		/* Destroys the outputs (output_handle_destroy runs for each). */
		wlr_backend_destroy(server->backend);
	}
	if (server->scene != NULL) {
		wlr_scene_node_destroy(&server->scene->node);
	}
	if (server->output_layout != NULL) {
		wlr_output_layout_destroy(server->output_layout);
	}
	if (server->xdg_shell != NULL) {
		wl_list_remove(&server->new_xdg_surface.link);
	}
	if (server->xdg_decoration != NULL) {
		wl_list_remove(&server->new_toplevel_decoration.link);
	}
	clipboard_finish(server);
	if (server->request_source != NULL) {
		wl_event_source_remove(server->request_source);
	}
	/* Destroys the globals (compositor, shell, seat, screencopy, data device) with the display. */
	wl_display_destroy(server->wl_display);
	if (server->allocator != NULL) {
		wlr_allocator_destroy(server->allocator);
	}
	if (server->renderer != NULL) {
		wlr_renderer_destroy(server->renderer);
	}
	events_finish(server); /* Bun's reader sees end of file */
}

static void *server_thread_main(void *data) {
	struct weft_server *server = data;
	bool ok = server_init(server);

	pthread_mutex_lock(&server->lock);
	server->state = ok ? WEFT_RUNNING : WEFT_FAILED;
	server->accepting = ok;
	pthread_cond_broadcast(&server->cond);
	pthread_mutex_unlock(&server->lock);

	if (ok) {
		wl_display_run(server->wl_display);
	}
	server_destroy(server);
	return NULL;
}

static void log_level_from_env(void) {
	const char *level = getenv("WEFT_COMPOSITOR_LOG");
	enum wlr_log_importance importance = WLR_ERROR;
	if (level != NULL && strcmp(level, "debug") == 0) {
		importance = WLR_DEBUG;
	} else if (level != NULL && strcmp(level, "info") == 0) {
		importance = WLR_INFO;
	}
	wlr_log_init(importance, NULL);
}

/* ---- the exported API (Bun thread) --------------------------------------------------------------- */

WEFT_API struct weft_compositor *weft_compositor_start(char *error, size_t error_len) {
	struct weft_server *server = calloc(1, sizeof(*server));
	if (server == NULL) {
		snprintf(error, error_len, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&server->lock, NULL);
	pthread_cond_init(&server->cond, NULL);
	wl_list_init(&server->requests);
	wl_list_init(&server->outputs);
	wl_list_init(&server->views);
	wl_list_init(&server->clients);
	wl_list_init(&server->reservations);
	wl_signal_init(&server->events.focus_changed);
	wl_signal_init(&server->events.layout_changed);
	wl_signal_init(&server->events.navigation_gesture);
	server->event_read_fd = -1;
	server->event_write_fd = -1;
	server->state = WEFT_STARTING;
	server->request_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (server->request_fd < 0) {
		snprintf(error, error_len, "eventfd: %s", strerror(errno));
		goto fail_free;
	}
	log_level_from_env();

	/* Signals belong to Bun: the compositor thread blocks them all (it inherits the mask at creation). */
	sigset_t all, previous;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &previous);
	int created = pthread_create(&server->thread, NULL, server_thread_main, server);
	pthread_sigmask(SIG_SETMASK, &previous, NULL);
	if (created != 0) {
		snprintf(error, error_len, "pthread_create: %s", strerror(created));
		goto fail_close;
	}

	pthread_mutex_lock(&server->lock);
	while (server->state == WEFT_STARTING) {
		pthread_cond_wait(&server->cond, &server->lock);
	}
	bool failed = server->state == WEFT_FAILED;
	pthread_mutex_unlock(&server->lock);
	if (failed) {
		pthread_join(server->thread, NULL);
		snprintf(error, error_len, "%s", server->start_error);
		goto fail_close;
	}
	return (struct weft_compositor *)server;

fail_close:
	close(server->request_fd);
	if (server->event_read_fd >= 0) {
		close(server->event_read_fd);
	}
fail_free:
	pthread_cond_destroy(&server->cond);
	pthread_mutex_destroy(&server->lock);
	free(server);
	return NULL;
}

struct open_client_args {
	int fd; /* the compositor's end of the socketpair; wl_client_create takes it */
	enum weft_role role;
	uint64_t session_id;
};

static int run_open_client(struct weft_server *server, void *data) {
	struct open_client_args *args = data;
	return client_open(server, args->fd, args->role, args->session_id);
}

WEFT_API int weft_compositor_open_client(struct weft_compositor *compositor, uint32_t role, uint64_t session_id) {
	struct weft_server *server = (struct weft_server *)compositor;
	if (role != WEFT_ROLE_SHELL && role != WEFT_ROLE_APPLICATION) {
		return -EINVAL;
	}
	int fds[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0) {
		return -errno;
	}
	struct open_client_args args = { .fd = fds[0], .role = role, .session_id = session_id };
	int result = server_call(server, run_open_client, &args, false);
	if (result == -ESHUTDOWN) {
		close(fds[0]); /* never reached the compositor thread */
	}
	if (result < 0) {
		close(fds[1]);
		return result;
	}
	return fds[1];
}

struct list_outputs_args {
	char *buffer;
	size_t buffer_len;
};

static int run_list_outputs(struct weft_server *server, void *data) {
	struct list_outputs_args *args = data;
	return output_list(server, args->buffer, args->buffer_len);
}

WEFT_API int weft_compositor_list_outputs(struct weft_compositor *compositor, char *buffer, size_t buffer_len) {
	struct list_outputs_args args = { .buffer = buffer, .buffer_len = buffer_len };
	return server_call((struct weft_server *)compositor, run_list_outputs, &args, false);
}

static int run_client_count(struct weft_server *server, void *data) {
	return wl_list_length(&server->clients);
}

WEFT_API int weft_compositor_client_count(struct weft_compositor *compositor) {
	return server_call((struct weft_server *)compositor, run_client_count, NULL, false);
}

/* wl_display_run returns after this dispatch; teardown continues in server_thread_main. */
static int run_stop(struct weft_server *server, void *data) {
	wl_display_terminate(server->wl_display);
	return 0;
}

WEFT_API void weft_compositor_stop(struct weft_compositor *compositor) {
	struct weft_server *server = (struct weft_server *)compositor;
	/* Refuse new requests first; those already queued run before STOP, in order. */
	pthread_mutex_lock(&server->lock);
	server->accepting = false;
	pthread_mutex_unlock(&server->lock);
	server_call(server, run_stop, NULL, true);
	pthread_join(server->thread, NULL);

	close(server->request_fd);
	if (server->event_read_fd >= 0) {
		close(server->event_read_fd); /* nobody took it */
	}
	pthread_cond_destroy(&server->cond);
	pthread_mutex_destroy(&server->lock);
	free(server);
}

WEFT_API int weft_compositor_take_event_fd(struct weft_compositor *compositor) {
	struct weft_server *server = (struct weft_server *)compositor;
	pthread_mutex_lock(&server->lock);
	int fd = server->event_read_fd;
	server->event_read_fd = -1;
	pthread_mutex_unlock(&server->lock);
	return fd >= 0 ? fd : -EBUSY;
}

/* ---- windows, focus, screenshots (Bun thread → compositor thread) -------------------------------- */

struct buffer_arg {
	char *buffer;
	size_t buffer_len;
};

static int run_list_windows(struct weft_server *server, void *data) {
	struct buffer_arg *arg = data;
	return layout_list_windows(server, arg->buffer, arg->buffer_len);
}

WEFT_API int weft_compositor_list_windows(struct weft_compositor *compositor, char *buffer, size_t buffer_len) {
	struct buffer_arg arg = { .buffer = buffer, .buffer_len = buffer_len };
	return server_call_on_thread((struct weft_server *)compositor, run_list_windows, &arg);
}

static int run_show_session(struct weft_server *server, void *data) {
	return layout_show_session(server, *(uint64_t *)data);
}

WEFT_API int weft_compositor_show_session(struct weft_compositor *compositor, uint64_t session_id) {
	return server_call_on_thread((struct weft_server *)compositor, run_show_session, &session_id);
}

static int run_close_session(struct weft_server *server, void *data) {
	return layout_close_session(server, *(uint64_t *)data);
}

WEFT_API int weft_compositor_close_session(struct weft_compositor *compositor, uint64_t session_id) {
	return server_call_on_thread((struct weft_server *)compositor, run_close_session, &session_id);
}

struct screenshot_arg {
	const char *output_name;
	uint8_t *pixels;
	int width, height, stride;
};

static int run_screenshot(struct weft_server *server, void *data) {
	struct screenshot_arg *arg = data;
	return screenshot_output(server, arg->output_name, &arg->pixels, &arg->width, &arg->height, &arg->stride);
}

WEFT_API uint8_t *weft_compositor_screenshot(struct weft_compositor *compositor, const char *output_name,
		int32_t *size_out, int32_t *error_out) {
	struct screenshot_arg arg = { .output_name = output_name };
	int result = server_call_on_thread((struct weft_server *)compositor, run_screenshot, &arg);
	if (result < 0) {
		*error_out = -result;
		return NULL;
	}
	size_out[0] = arg.width;
	size_out[1] = arg.height;
	size_out[2] = arg.stride;
	*error_out = 0;
	return arg.pixels;
}

WEFT_API void weft_compositor_free(void *pointer) {
	free(pointer);
}

WEFT_API uint64_t weft_compositor_heap_bytes(void) {
	/* glibc's count of bytes in use (wlroots and libwayland allocate with malloc; Bun's own heap is separate). */
	struct mallinfo2 info = mallinfo2();
	return (uint64_t)info.uordblks + (uint64_t)info.hblkhd;
}
