/*
 * weft-shell-probe: a zweft_shell_unstable_v1 test client over libwayland-client. It connects through
 * WAYLAND_SOCKET (the compositor's OpenClient hands the connection out), runs the scenario named on its
 * command line and prints every event it receives as one JSON object per line on stdout (and, when
 * WEFT_PROBE_LOG names a file, into that file too, flushed per line, so a test can follow it live).
 *
 *   weft-shell-probe globals            {"event":"global","present":true|false,"version":N}
 *   weft-shell-probe script             commands from stdin, one per line (below), until end of input
 *   weft-shell-probe <scenario>         a built-in command list (see `scenarios` below: the error paths)
 *
 * Commands (each is followed by a round trip, then {"event":"done","command":"…"}):
 *   create NAME ROLE SURFACE X Y W H   SURFACE: none | bare (a new surface, no buffer) | #RRGGBB (a new
 *                                      surface painted that colour at the configured size) | sub (a new
 *                                      surface that is a wl_subsurface: it has a role) | use:OTHER (the
 *                                      surface of window OTHER)
 *   geometry NAME X Y W H              set_geometry
 *   metadata NAME TITLE ROLE           update_metadata
 *   paint NAME #RRGGBB                 attach a solid buffer of the last configured size and commit
 *   destroy NAME | destroy-surface NAME | destroy-manager | sync
 *   layer NAME LAYER ANCHOR W H ZONE #RRGGBB
 *                                      a zwlr_layer_surface_v1 (layer 0-3, anchor bits, exclusive zone),
 *                                      painted that colour at each configured size
 *   layer-destroy NAME                 destroy the layer surface and its wl_surface
 *
 * A protocol error ends the probe: {"event":"protocol_error","interface":…,"id":…,"code":…}, exit 2.
 * WEFT_PROBE_MANAGER_VERSION binds the manager at a lower version (1: no navigation gestures).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <wayland-client.h>

#include "weft-shell-unstable-v1-client-protocol.h"
#include "wlr-layer-shell-unstable-v1-client-protocol.h"

#define MAX_WINDOWS 32

struct probe_window {
	char name[32];
	struct zweft_shell_window_v1 *window;
	struct wl_surface *surface;        /* ours when the probe made it; shared with another window on use: */
	struct wl_subsurface *subsurface;  /* for the "sub" surface: its role */
	struct wl_surface *parent;         /* the subsurface's parent */
	int32_t width, height;             /* last configure */
	struct zwlr_layer_surface_v1 *layer_surface;
	char pending_colour[64];           /* paint once the first configure came */
	bool closed;
};

struct probe {
	struct wl_display *display;
	struct wl_registry *registry;
	struct wl_compositor *compositor;
	struct wl_subcompositor *subcompositor;
	struct wl_shm *shm;
	struct zweft_shell_manager_v1 *manager;
	uint32_t manager_version;
	struct zwlr_layer_shell_v1 *layer_shell;
	struct probe_window windows[MAX_WINDOWS];
	FILE *log;
};

static struct probe probe;

/* One JSON line to stdout (and the log file). Strings passed through are plain ASCII from this file. */
static void emit(const char *format, ...) __attribute__((format(printf, 1, 2)));
static void emit(const char *format, ...) {
	char line[1024];
	va_list args;
	va_start(args, format);
	vsnprintf(line, sizeof(line), format, args);
	va_end(args);
	printf("%s\n", line);
	fflush(stdout);
	if (probe.log != NULL) {
		fprintf(probe.log, "%s\n", line);
		fflush(probe.log);
	}
}

static const char *window_name(struct zweft_shell_window_v1 *window) {
	struct probe_window *w = zweft_shell_window_v1_get_user_data(window);
	return w->name;
}

/* ---- events ---------------------------------------------------------------------------------------- */

static void paint(struct probe_window *w, const char *colour);

static void window_configure(void *data, struct zweft_shell_window_v1 *window, int32_t x, int32_t y, int32_t width,
		int32_t height, uint32_t state) {
	struct probe_window *w = data;
	w->width = width;
	w->height = height;
	emit("{\"event\":\"configure\",\"window\":\"%s\",\"x\":%d,\"y\":%d,\"width\":%d,\"height\":%d,\"state\":%u}",
		window_name(window), x, y, width, height, state);
	if (w->pending_colour[0] != '\0') {
		paint(w, w->pending_colour);
		w->pending_colour[0] = '\0';
	}
}

static void window_focus_changed(void *data, struct zweft_shell_window_v1 *window, uint32_t focused) {
	emit("{\"event\":\"focus_changed\",\"window\":\"%s\",\"focused\":%u}", window_name(window), focused);
}

static void window_closed(void *data, struct zweft_shell_window_v1 *window) {
	struct probe_window *w = data;
	w->closed = true;
	emit("{\"event\":\"window_closed\",\"window\":\"%s\"}", window_name(window));
}

static void window_presentation_feedback(void *data, struct zweft_shell_window_v1 *window, uint32_t tv_sec,
		uint32_t tv_nsec, uint32_t refresh) {
	emit("{\"event\":\"presentation_feedback\",\"window\":\"%s\",\"tv_sec\":%u,\"tv_nsec\":%u,\"refresh\":%u}",
		window_name(window), tv_sec, tv_nsec, refresh);
}

static void window_navigation_gesture(void *data, struct zweft_shell_window_v1 *window, uint32_t type,
		uint32_t fingers, wl_fixed_t dx, wl_fixed_t dy) {
	emit("{\"event\":\"navigation_gesture\",\"window\":\"%s\",\"type\":%u,\"fingers\":%u,\"dx\":%.2f,\"dy\":%.2f}",
		window_name(window), type, fingers, wl_fixed_to_double(dx), wl_fixed_to_double(dy));
}

static const struct zweft_shell_window_v1_listener window_listener = {
	.configure = window_configure,
	.focus_changed = window_focus_changed,
	.window_closed = window_closed,
	.presentation_feedback = window_presentation_feedback,
	.navigation_gesture = window_navigation_gesture,
};

static void layer_configure(void *data, struct zwlr_layer_surface_v1 *layer_surface, uint32_t serial, uint32_t width,
		uint32_t height) {
	struct probe_window *w = data;
	emit("{\"event\":\"layer_configure\",\"window\":\"%s\",\"width\":%u,\"height\":%u}", w->name, width, height);
	zwlr_layer_surface_v1_ack_configure(layer_surface, serial);
	w->width = (int32_t)width;
	w->height = (int32_t)height;
	paint(w, w->pending_colour);
}

static void layer_closed(void *data, struct zwlr_layer_surface_v1 *layer_surface) {
	struct probe_window *w = data;
	emit("{\"event\":\"layer_closed\",\"window\":\"%s\"}", w->name);
}

static const struct zwlr_layer_surface_v1_listener layer_listener = {
	.configure = layer_configure,
	.closed = layer_closed,
};

static void registry_global(void *data, struct wl_registry *registry, uint32_t name, const char *interface,
		uint32_t version) {
	if (strcmp(interface, wl_compositor_interface.name) == 0) {
		probe.compositor = wl_registry_bind(registry, name, &wl_compositor_interface, version < 4 ? version : 4);
	} else if (strcmp(interface, wl_subcompositor_interface.name) == 0) {
		probe.subcompositor = wl_registry_bind(registry, name, &wl_subcompositor_interface, 1);
	} else if (strcmp(interface, wl_shm_interface.name) == 0) {
		probe.shm = wl_registry_bind(registry, name, &wl_shm_interface, 1);
	} else if (strcmp(interface, zwlr_layer_shell_v1_interface.name) == 0) {
		probe.layer_shell = wl_registry_bind(registry, name, &zwlr_layer_shell_v1_interface, 1);
	} else if (strcmp(interface, zweft_shell_manager_v1_interface.name) == 0) {
		uint32_t wanted = 2;
		const char *env = getenv("WEFT_PROBE_MANAGER_VERSION");
		if (env != NULL && atoi(env) > 0) {
			wanted = (uint32_t)atoi(env);
		}
		probe.manager_version = version < wanted ? version : wanted;
		probe.manager = wl_registry_bind(registry, name, &zweft_shell_manager_v1_interface, probe.manager_version);
	}
}

static void registry_global_remove(void *data, struct wl_registry *registry, uint32_t name) {
}

static const struct wl_registry_listener registry_listener = {
	.global = registry_global,
	.global_remove = registry_global_remove,
};

/* ---- protocol errors ---------------------------------------------------------------------------------- */

static void exit_on_display_error(void) {
	int error = wl_display_get_error(probe.display);
	if (error == 0) {
		return;
	}
	if (error == EPROTO) {
		const struct wl_interface *interface = NULL;
		uint32_t id = 0;
		uint32_t code = wl_display_get_protocol_error(probe.display, &interface, &id);
		emit("{\"event\":\"protocol_error\",\"interface\":\"%s\",\"id\":%u,\"code\":%u}",
			interface ? interface->name : "", id, code);
	} else {
		emit("{\"event\":\"connection_error\",\"errno\":%d}", error);
	}
	exit(2);
}

static void roundtrip(void) {
	if (wl_display_roundtrip(probe.display) < 0) {
		exit_on_display_error();
		exit(3);
	}
}

/* ---- buffers ------------------------------------------------------------------------------------------ */

static void buffer_release(void *data, struct wl_buffer *buffer) {
	wl_buffer_destroy(buffer);
}

static const struct wl_buffer_listener buffer_listener = { .release = buffer_release };

/* A solid ARGB8888 buffer of the window's configured size, attached, damaged and committed. */
static void paint(struct probe_window *w, const char *colour) {
	if (w->surface == NULL || w->width <= 0 || w->height <= 0 || probe.shm == NULL) {
		emit("{\"event\":\"paint_failed\",\"window\":\"%s\"}", w->name);
		return;
	}
	uint32_t rgb = (uint32_t)strtoul(colour[0] == '#' ? colour + 1 : colour, NULL, 16);
	int stride = w->width * 4;
	size_t size = (size_t)stride * (size_t)w->height;
	int fd = memfd_create("weft-shell-probe", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, (off_t)size) < 0) {
		perror("weft-shell-probe: shm buffer");
		exit(4);
	}
	uint32_t *pixels = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (pixels == MAP_FAILED) {
		perror("weft-shell-probe: mmap");
		exit(4);
	}
	for (size_t i = 0; i < size / 4; i++) {
		pixels[i] = 0xff000000u | rgb;
	}
	munmap(pixels, size);
	struct wl_shm_pool *pool = wl_shm_create_pool(probe.shm, fd, (int32_t)size);
	struct wl_buffer *buffer = wl_shm_pool_create_buffer(pool, 0, w->width, w->height, stride, WL_SHM_FORMAT_ARGB8888);
	wl_shm_pool_destroy(pool);
	close(fd);
	wl_buffer_add_listener(buffer, &buffer_listener, NULL);
	wl_surface_attach(w->surface, buffer, 0, 0);
	wl_surface_damage(w->surface, 0, 0, w->width, w->height);
	wl_surface_commit(w->surface);
}

/* ---- commands ----------------------------------------------------------------------------------------- */

static struct probe_window *find_window(const char *name) {
	for (int i = 0; i < MAX_WINDOWS; i++) {
		if (probe.windows[i].name[0] != '\0' && strcmp(probe.windows[i].name, name) == 0) {
			return &probe.windows[i];
		}
	}
	fprintf(stderr, "weft-shell-probe: no window named %s\n", name);
	exit(5);
}

static struct probe_window *new_window(const char *name) {
	for (int i = 0; i < MAX_WINDOWS; i++) {
		if (probe.windows[i].name[0] == '\0') {
			snprintf(probe.windows[i].name, sizeof(probe.windows[i].name), "%s", name);
			return &probe.windows[i];
		}
	}
	fprintf(stderr, "weft-shell-probe: more than %d windows\n", MAX_WINDOWS);
	exit(5);
}

static void need_manager(void) {
	if (probe.manager == NULL) {
		emit("{\"event\":\"global\",\"present\":false,\"version\":0}");
		exit(6);
	}
}

static void run_command(const char *line) {
	char verb[32] = "", a[64] = "", b[64] = "", c[64] = "";
	int x = 0, y = 0, width = 0, height = 0;
	if (sscanf(line, "%31s", verb) != 1) {
		return;
	}
	if (strcmp(verb, "create") == 0 &&
			sscanf(line, "%*s %63s %63s %63s %d %d %d %d", a, b, c, &x, &y, &width, &height) == 7) {
		need_manager();
		struct probe_window *w = new_window(a);
		struct wl_surface *surface = NULL;
		if (strcmp(c, "none") == 0) {
			surface = NULL;
		} else if (strncmp(c, "use:", 4) == 0) {
			surface = find_window(c + 4)->surface;
			w->surface = surface;
		} else {
			surface = wl_compositor_create_surface(probe.compositor);
			w->surface = surface;
			if (strcmp(c, "sub") == 0) {
				w->parent = wl_compositor_create_surface(probe.compositor);
				w->subsurface = wl_subcompositor_get_subsurface(probe.subcompositor, surface, w->parent);
			} else if (c[0] == '#') {
				snprintf(w->pending_colour, sizeof(w->pending_colour), "%s", c + 1);
			}
		}
		w->window = zweft_shell_manager_v1_create_window(probe.manager, "org.weft.probe", a, b, surface, x, y, width,
			height);
		zweft_shell_window_v1_add_listener(w->window, &window_listener, w);
	} else if (strcmp(verb, "geometry") == 0 && sscanf(line, "%*s %63s %d %d %d %d", a, &x, &y, &width, &height) == 5) {
		zweft_shell_window_v1_set_geometry(find_window(a)->window, x, y, width, height);
	} else if (strcmp(verb, "metadata") == 0 && sscanf(line, "%*s %63s %63s %63s", a, b, c) == 3) {
		zweft_shell_window_v1_update_metadata(find_window(a)->window, b, c);
	} else if (strcmp(verb, "paint") == 0 && sscanf(line, "%*s %63s %63s", a, b) == 2) {
		paint(find_window(a), b);
	} else if (strcmp(verb, "destroy") == 0 && sscanf(line, "%*s %63s", a) == 1) {
		struct probe_window *w = find_window(a);
		zweft_shell_window_v1_destroy(w->window);
		w->window = NULL;
	} else if (strcmp(verb, "destroy-surface") == 0 && sscanf(line, "%*s %63s", a) == 1) {
		struct probe_window *w = find_window(a);
		if (w->subsurface != NULL) {
			wl_subsurface_destroy(w->subsurface);
			w->subsurface = NULL;
		}
		wl_surface_destroy(w->surface);
		w->surface = NULL;
	} else if (strcmp(verb, "layer") == 0) {
		unsigned layer = 0, anchor = 0, lw = 0, lh = 0;
		int zone = 0;
		if (sscanf(line, "%*s %63s %u %u %u %u %d %63s", a, &layer, &anchor, &lw, &lh, &zone, b) != 7) {
			fprintf(stderr, "weft-shell-probe: cannot parse command: %s\n", line);
			exit(5);
		}
		if (probe.layer_shell == NULL) {
			emit("{\"event\":\"layer_shell_absent\"}");
			exit(6);
		}
		struct probe_window *w = new_window(a);
		snprintf(w->pending_colour, sizeof(w->pending_colour), "%s", b[0] == '#' ? b + 1 : b);
		w->surface = wl_compositor_create_surface(probe.compositor);
		w->layer_surface = zwlr_layer_shell_v1_get_layer_surface(probe.layer_shell, w->surface, NULL, layer, "probe");
		zwlr_layer_surface_v1_add_listener(w->layer_surface, &layer_listener, w);
		zwlr_layer_surface_v1_set_size(w->layer_surface, lw, lh);
		zwlr_layer_surface_v1_set_anchor(w->layer_surface, anchor);
		zwlr_layer_surface_v1_set_exclusive_zone(w->layer_surface, zone);
		wl_surface_commit(w->surface); /* no buffer: asks for the first configure */
	} else if (strcmp(verb, "layer-destroy") == 0 && sscanf(line, "%*s %63s", a) == 1) {
		struct probe_window *w = find_window(a);
		zwlr_layer_surface_v1_destroy(w->layer_surface);
		wl_surface_destroy(w->surface);
		w->layer_surface = NULL;
		w->surface = NULL;
	} else if (strcmp(verb, "destroy-manager") == 0) {
		need_manager();
		zweft_shell_manager_v1_destroy(probe.manager);
		probe.manager = NULL;
	} else if (strcmp(verb, "sync") != 0) {
		fprintf(stderr, "weft-shell-probe: cannot parse command: %s\n", line);
		exit(5);
	}
	roundtrip();
	emit("{\"event\":\"done\",\"command\":\"%s\"}", verb);
}

/* Built-in scenarios: the error paths, each ending in the protocol error it provokes. */
static const struct {
	const char *name;
	const char *commands[8];
} scenarios[] = {
	{ "bad-role", { "create a taskbar none 0 0 100 100" } },
	{ "invalid-geometry", { "create a panel none 0 0 0 40" } },
	{ "invalid-set-geometry", { "create a normal none 0 0 100 100", "geometry a 0 0 100 -1" } },
	{ "bad-metadata-role", { "create a normal none 0 0 100 100", "metadata a title bogus" } },
	{ "surface-with-role", { "create a normal sub 0 0 100 100" } },
	{ "surface-twice", { "create a normal bare 0 0 100 100", "create b normal use:a 0 0 100 100" } },
	{ "surface-reuse", { "create a normal bare 0 0 100 100", "destroy a", "create b overlay use:a 10 10 50 50" } },
	{ "defunct-after-close", { "create a normal bare 0 0 100 100", "destroy-surface a", "geometry a 0 0 10 10" } },
	{ "manager-destroy", { "create a panel none 0 0 1280 30", "create b normal bare 0 0 100 100", "destroy-manager",
		"metadata a title panel" } },
};

/* Reads commands from stdin while dispatching events, so events that come later (focus moves, frames,
 * gestures) are printed as they arrive. */
static void run_script(void) {
	char buffer[4096];
	size_t used = 0;
	for (;;) {
		while (wl_display_prepare_read(probe.display) != 0) {
			if (wl_display_dispatch_pending(probe.display) < 0) {
				exit_on_display_error();
			}
		}
		wl_display_flush(probe.display);
		struct pollfd fds[2] = {
			{ .fd = wl_display_get_fd(probe.display), .events = POLLIN },
			{ .fd = STDIN_FILENO, .events = POLLIN },
		};
		if (poll(fds, 2, -1) < 0 && errno != EINTR) {
			wl_display_cancel_read(probe.display);
			perror("weft-shell-probe: poll");
			exit(4);
		}
		if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			if (wl_display_read_events(probe.display) < 0) {
				exit_on_display_error();
				emit("{\"event\":\"disconnected\"}");
				exit(3);
			}
		} else {
			wl_display_cancel_read(probe.display);
		}
		if (wl_display_dispatch_pending(probe.display) < 0) {
			exit_on_display_error();
		}
		if (fds[1].revents & (POLLIN | POLLHUP)) {
			ssize_t n = read(STDIN_FILENO, buffer + used, sizeof(buffer) - 1 - used);
			if (n <= 0) {
				return; /* end of input: done */
			}
			used += (size_t)n;
			buffer[used] = '\0';
			char *start = buffer, *newline;
			while ((newline = strchr(start, '\n')) != NULL) {
				*newline = '\0';
				run_command(start);
				start = newline + 1;
			}
			used = strlen(start);
			memmove(buffer, start, used + 1);
		}
	}
}

int main(int argc, char **argv) {
	if (argc < 2) {
		fprintf(stderr, "usage: weft-shell-probe globals | script | <scenario>\n");
		return 1;
	}
	const char *log_path = getenv("WEFT_PROBE_LOG");
	if (log_path != NULL && log_path[0] != '\0') {
		probe.log = fopen(log_path, "a");
	}
	probe.display = wl_display_connect(NULL);
	if (probe.display == NULL) {
		fprintf(stderr, "weft-shell-probe: cannot connect (WAYLAND_SOCKET / WAYLAND_DISPLAY)\n");
		return 1;
	}
	probe.registry = wl_display_get_registry(probe.display);
	wl_registry_add_listener(probe.registry, &registry_listener, NULL);
	roundtrip();
	emit("{\"event\":\"global\",\"present\":%s,\"version\":%u}", probe.manager ? "true" : "false", probe.manager_version);

	const char *scenario = argv[1];
	if (strcmp(scenario, "globals") == 0) {
		return 0;
	}
	if (strcmp(scenario, "script") == 0) {
		run_script();
		return 0;
	}
	for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++) {
		if (strcmp(scenarios[i].name, scenario) == 0) {
			for (int j = 0; j < 8 && scenarios[i].commands[j] != NULL; j++) {
				run_command(scenarios[i].commands[j]);
			}
			emit("{\"event\":\"end\"}");
			return 0;
		}
	}
	fprintf(stderr, "weft-shell-probe: unknown scenario %s\n", scenario);
	return 1;
}
