/*
 * weft-panel: reserves the system shell's taskbar strip through zweft_shell_unstable_v1 and reports the shell
 * window events to weft-shell (services/shell/panel.ts).
 *
 *   weft-panel [--height N] [--output WxH]
 *
 * It connects through WAYLAND_SOCKET (a `shell`-role connection from Compositor1.OpenClient; only shell
 * connections see the zweft manager), takes the size of the first wl_output (current mode / scale) unless
 * --output gives it, and creates one `panel` window without a surface covering the bottom strip of height N
 * (default 48) across the whole width: a panel strip along a whole edge is a reservation, so the compositor
 * shrinks the application area by it while the shell's own page (beneath apps, the whole output) shows there.
 * When the output's size changes, the strip follows.
 *
 * It prints one JSON object per line on stdout, flushed per line:
 *   {"event":"output","width":W,"height":H}
 *   {"event":"configure","x":X,"y":Y,"width":W,"height":H,"state":S}
 *   {"event":"focus_changed","focused":0|1}           (the shell's connection has the keyboard or not)
 *   {"event":"navigation_gesture","type":T,"fingers":F,"dx":DX,"dy":DY}
 *   {"event":"window_closed"}
 * and exits 0 when its stdin reaches end of file (weft-shell closed it or died), 1 on bad arguments, 2 when the
 * connection ends or fails, 3 when the compositor offers no zweft manager (not a shell connection), 4 when the
 * window was closed. It also asks the kernel for SIGTERM when its parent dies (PR_SET_PDEATHSIG).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>
#include <wayland-client.h>

#include "weft-shell-unstable-v1-client-protocol.h"

struct panel {
	struct wl_display *display;
	struct wl_registry *registry;
	struct wl_output *output;
	struct zweft_shell_manager_v1 *manager;
	struct zweft_shell_window_v1 *window;
	int32_t strip_height;
	/* The output's logical size: pending values from mode/scale, applied on wl_output.done. */
	int32_t mode_width, mode_height, scale;
	int32_t output_width, output_height;
	bool fixed_output; /* --output given: ignore wl_output */
	bool closed;
};

static struct panel panel = { .strip_height = 48, .scale = 1 };
static const struct zweft_shell_window_v1_listener window_listener;

static void emit(const char *format, ...) __attribute__((format(printf, 1, 2)));
static void emit(const char *format, ...) {
	va_list args;
	va_start(args, format);
	vprintf(format, args);
	va_end(args);
	putchar('\n');
	fflush(stdout);
}

/* The strip: the bottom `strip_height` rows of the output, full width. */
static void place_strip(void) {
	if (panel.output_width <= 0 || panel.output_height <= 0 || panel.manager == NULL) {
		return;
	}
	int32_t height = panel.strip_height < panel.output_height ? panel.strip_height : panel.output_height;
	int32_t y = panel.output_height - height;
	if (panel.window == NULL) {
		panel.window = zweft_shell_manager_v1_create_window(panel.manager, "org.weft.shell", "WEFT taskbar", "panel",
			NULL, 0, y, panel.output_width, height);
		zweft_shell_window_v1_add_listener(panel.window, &window_listener, NULL);
	} else if (!panel.closed) {
		zweft_shell_window_v1_set_geometry(panel.window, 0, y, panel.output_width, height);
	}
}

/* ---- zweft window events ---------------------------------------------------------------------------- */

static void window_configure(void *data, struct zweft_shell_window_v1 *window, int32_t x, int32_t y, int32_t width,
		int32_t height, uint32_t state) {
	emit("{\"event\":\"configure\",\"x\":%d,\"y\":%d,\"width\":%d,\"height\":%d,\"state\":%u}", x, y, width, height, state);
}

static void window_focus_changed(void *data, struct zweft_shell_window_v1 *window, uint32_t focused) {
	emit("{\"event\":\"focus_changed\",\"focused\":%u}", focused);
}

static void window_closed(void *data, struct zweft_shell_window_v1 *window) {
	panel.closed = true;
	emit("{\"event\":\"window_closed\"}");
}

static void window_presentation_feedback(void *data, struct zweft_shell_window_v1 *window, uint32_t tv_sec,
		uint32_t tv_nsec, uint32_t refresh) {
	/* A surface-less window presents nothing. */
}

static void window_navigation_gesture(void *data, struct zweft_shell_window_v1 *window, uint32_t type,
		uint32_t fingers, wl_fixed_t dx, wl_fixed_t dy) {
	emit("{\"event\":\"navigation_gesture\",\"type\":%u,\"fingers\":%u,\"dx\":%.2f,\"dy\":%.2f}", type, fingers,
		wl_fixed_to_double(dx), wl_fixed_to_double(dy));
}

static const struct zweft_shell_window_v1_listener window_listener = {
	.configure = window_configure,
	.focus_changed = window_focus_changed,
	.window_closed = window_closed,
	.presentation_feedback = window_presentation_feedback,
	.navigation_gesture = window_navigation_gesture,
};

/* ---- wl_output: the size the strip spans ------------------------------------------------------------ */

static void output_geometry(void *data, struct wl_output *output, int32_t x, int32_t y, int32_t physical_width,
		int32_t physical_height, int32_t subpixel, const char *make, const char *model, int32_t transform) {
}

static void output_mode(void *data, struct wl_output *output, uint32_t flags, int32_t width, int32_t height,
		int32_t refresh) {
	if (flags & WL_OUTPUT_MODE_CURRENT) {
		panel.mode_width = width;
		panel.mode_height = height;
	}
}

static void output_done(void *data, struct wl_output *output) {
	int32_t scale = panel.scale > 0 ? panel.scale : 1;
	int32_t width = panel.mode_width / scale, height = panel.mode_height / scale;
	if (panel.fixed_output || (width == panel.output_width && height == panel.output_height)) {
		return;
	}
	panel.output_width = width;
	panel.output_height = height;
	emit("{\"event\":\"output\",\"width\":%d,\"height\":%d}", width, height);
	place_strip();
}

static void output_scale(void *data, struct wl_output *output, int32_t factor) {
	panel.scale = factor;
}

static const struct wl_output_listener output_listener = {
	.geometry = output_geometry,
	.mode = output_mode,
	.done = output_done,
	.scale = output_scale,
};

/* ---- registry ---------------------------------------------------------------------------------------- */

static void registry_global(void *data, struct wl_registry *registry, uint32_t name, const char *interface,
		uint32_t version) {
	if (strcmp(interface, zweft_shell_manager_v1_interface.name) == 0 && panel.manager == NULL) {
		panel.manager = wl_registry_bind(registry, name, &zweft_shell_manager_v1_interface, version < 2 ? version : 2);
	} else if (strcmp(interface, wl_output_interface.name) == 0 && panel.output == NULL && !panel.fixed_output) {
		/* The first output: the compositor places zweft windows and the application area on it. */
		panel.output = wl_registry_bind(registry, name, &wl_output_interface, version < 2 ? version : 2);
		wl_output_add_listener(panel.output, &output_listener, NULL);
	}
}

static void registry_global_remove(void *data, struct wl_registry *registry, uint32_t name) {
}

static const struct wl_registry_listener registry_listener = {
	.global = registry_global,
	.global_remove = registry_global_remove,
};

/* ---- main -------------------------------------------------------------------------------------------- */

static int usage(const char *message) {
	fprintf(stderr, "weft-panel: %s\nusage: weft-panel [--height N] [--output WxH]\n", message);
	return 1;
}

static bool parse_int(const char *text, int32_t min, int32_t max, int32_t *out) {
	char *end = NULL;
	errno = 0;
	long value = strtol(text, &end, 10);
	if (errno != 0 || end == text || *end != '\0' || value < min || value > max) {
		return false;
	}
	*out = (int32_t)value;
	return true;
}

int main(int argc, char **argv) {
	/* No orphan: if weft-shell is killed, the kernel tells us (stdin's end of file would too). */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() == 1) {
		return 0;
	}
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--height") == 0 && i + 1 < argc) {
			if (!parse_int(argv[++i], 1, 4096, &panel.strip_height)) {
				return usage("--height takes a number of pixels from 1 to 4096");
			}
		} else if (strcmp(argv[i], "--output") == 0 && i + 1 < argc) {
			const char *size = argv[++i];
			char width[16], height[16];
			const char *x = strchr(size, 'x');
			if (x == NULL || x - size >= (long)sizeof(width) || strlen(x + 1) >= sizeof(height)) {
				return usage("--output takes WIDTHxHEIGHT");
			}
			memcpy(width, size, (size_t)(x - size));
			width[x - size] = '\0';
			strcpy(height, x + 1);
			if (!parse_int(width, 1, 65535, &panel.output_width) || !parse_int(height, 1, 65535, &panel.output_height)) {
				return usage("--output takes WIDTHxHEIGHT, each from 1 to 65535");
			}
			panel.fixed_output = true;
		} else {
			return usage("unknown argument");
		}
	}

	panel.display = wl_display_connect(NULL);
	if (panel.display == NULL) {
		fprintf(stderr, "weft-panel: cannot connect to the compositor (WAYLAND_SOCKET): %s\n", strerror(errno));
		return 2;
	}
	panel.registry = wl_display_get_registry(panel.display);
	wl_registry_add_listener(panel.registry, &registry_listener, NULL);
	if (wl_display_roundtrip(panel.display) < 0) {
		fprintf(stderr, "weft-panel: the connection failed during the registry round trip\n");
		return 2;
	}
	if (panel.manager == NULL) {
		fprintf(stderr, "weft-panel: no zweft_shell_manager_v1: this is not a shell connection\n");
		return 3;
	}
	if (panel.fixed_output) {
		emit("{\"event\":\"output\",\"width\":%d,\"height\":%d}", panel.output_width, panel.output_height);
		place_strip();
	}
	/* The wl_output's mode and done events arrive in this round trip; output_done places the strip. */
	if (wl_display_roundtrip(panel.display) < 0) {
		fprintf(stderr, "weft-panel: the connection failed\n");
		return 2;
	}
	if (panel.window == NULL) {
		fprintf(stderr, "weft-panel: the compositor has no output to place the strip on\n");
		return 2;
	}

	struct pollfd fds[2] = {
		{ .fd = wl_display_get_fd(panel.display), .events = POLLIN },
		{ .fd = STDIN_FILENO, .events = POLLIN },
	};
	for (;;) {
		while (wl_display_prepare_read(panel.display) != 0) {
			if (wl_display_dispatch_pending(panel.display) < 0) {
				return 2;
			}
		}
		if (wl_display_flush(panel.display) < 0 && errno != EAGAIN) {
			wl_display_cancel_read(panel.display);
			fprintf(stderr, "weft-panel: the connection ended\n");
			return 2;
		}
		if (poll(fds, 2, -1) < 0) {
			wl_display_cancel_read(panel.display);
			if (errno == EINTR) {
				continue;
			}
			perror("weft-panel: poll");
			return 2;
		}
		if (fds[0].revents & (POLLIN | POLLERR | POLLHUP)) {
			if (wl_display_read_events(panel.display) < 0) {
				fprintf(stderr, "weft-panel: the connection ended\n");
				return 2;
			}
		} else {
			wl_display_cancel_read(panel.display);
		}
		if (wl_display_dispatch_pending(panel.display) < 0) {
			fprintf(stderr, "weft-panel: the connection ended\n");
			return 2;
		}
		if (panel.closed) {
			return 4;
		}
		if (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			char buffer[256];
			ssize_t n = read(STDIN_FILENO, buffer, sizeof(buffer));
			if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) {
				return 0; /* weft-shell closed our stdin: it is stopping */
			}
			/* Anything written to stdin is ignored; it exists to tell us when weft-shell is gone. */
		}
	}
}
