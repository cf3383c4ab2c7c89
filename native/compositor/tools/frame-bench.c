/*
 * weft-frame-bench: measures commit → frame latency as a client sees it. It maps one xdg toplevel on the
 * connection in WAYLAND_SOCKET, then repeatedly draws a new frame into a wl_shm buffer, asks for a frame callback,
 * commits, and waits for the callback's done. Each round trip is printed in microseconds, one per line.
 *
 *   weft-frame-bench <frames>
 *
 * The compositor answers a frame callback after the output rendered the frame that holds the commit, so the
 * latency is bounded by the output's refresh; services/compositor/bench.ts compares it with the refresh interval.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <wayland-client.h>

#include "xdg-shell-client-protocol.h"

struct bench {
	struct wl_display *display;
	struct wl_compositor *compositor;
	struct wl_shm *shm;
	struct xdg_wm_base *wm_base;
	struct wl_surface *surface;
	struct xdg_surface *xdg_surface;
	struct xdg_toplevel *toplevel;
	int width, height;
	bool configured;
	bool frame_done;
};

static void registry_global(void *data, struct wl_registry *registry, uint32_t name, const char *interface,
		uint32_t version) {
	struct bench *bench = data;
	if (strcmp(interface, wl_compositor_interface.name) == 0) {
		bench->compositor = wl_registry_bind(registry, name, &wl_compositor_interface, 4);
	} else if (strcmp(interface, wl_shm_interface.name) == 0) {
		bench->shm = wl_registry_bind(registry, name, &wl_shm_interface, 1);
	} else if (strcmp(interface, xdg_wm_base_interface.name) == 0) {
		bench->wm_base = wl_registry_bind(registry, name, &xdg_wm_base_interface, 1);
	}
}

static void registry_global_remove(void *data, struct wl_registry *registry, uint32_t name) {
}

static const struct wl_registry_listener registry_listener = {
	.global = registry_global,
	.global_remove = registry_global_remove,
};

static void wm_base_ping(void *data, struct xdg_wm_base *wm_base, uint32_t serial) {
	xdg_wm_base_pong(wm_base, serial);
}

static const struct xdg_wm_base_listener wm_base_listener = { .ping = wm_base_ping };

static void xdg_surface_configure(void *data, struct xdg_surface *xdg_surface, uint32_t serial) {
	struct bench *bench = data;
	xdg_surface_ack_configure(xdg_surface, serial);
	bench->configured = true;
}

static const struct xdg_surface_listener xdg_surface_listener = { .configure = xdg_surface_configure };

static void toplevel_configure(void *data, struct xdg_toplevel *toplevel, int32_t width, int32_t height,
		struct wl_array *states) {
	struct bench *bench = data;
	if (width > 0 && height > 0) {
		bench->width = width;
		bench->height = height;
	}
}

static void toplevel_close(void *data, struct xdg_toplevel *toplevel) {
}

static const struct xdg_toplevel_listener toplevel_listener = {
	.configure = toplevel_configure,
	.close = toplevel_close,
};

static void frame_done(void *data, struct wl_callback *callback, uint32_t time) {
	struct bench *bench = data;
	bench->frame_done = true;
	wl_callback_destroy(callback);
}

static const struct wl_callback_listener frame_listener = { .done = frame_done };

static int64_t now_us(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int fail(const char *message) {
	fprintf(stderr, "weft-frame-bench: %s\n", message);
	return 1;
}

int main(int argc, char **argv) {
	int frames = argc > 1 ? atoi(argv[1]) : 0;
	if (frames <= 0 || frames > 100000) {
		return fail("usage: weft-frame-bench <frames (1..100000)>");
	}
	struct bench bench = { .width = 256, .height = 256 };
	bench.display = wl_display_connect(NULL);
	if (bench.display == NULL) {
		return fail("cannot connect (set WAYLAND_SOCKET or WAYLAND_DISPLAY)");
	}
	struct wl_registry *registry = wl_display_get_registry(bench.display);
	wl_registry_add_listener(registry, &registry_listener, &bench);
	wl_display_roundtrip(bench.display);
	if (bench.compositor == NULL || bench.shm == NULL || bench.wm_base == NULL) {
		return fail("the compositor lacks wl_compositor, wl_shm or xdg_wm_base");
	}
	xdg_wm_base_add_listener(bench.wm_base, &wm_base_listener, &bench);

	bench.surface = wl_compositor_create_surface(bench.compositor);
	bench.xdg_surface = xdg_wm_base_get_xdg_surface(bench.wm_base, bench.surface);
	xdg_surface_add_listener(bench.xdg_surface, &xdg_surface_listener, &bench);
	bench.toplevel = xdg_surface_get_toplevel(bench.xdg_surface);
	xdg_toplevel_add_listener(bench.toplevel, &toplevel_listener, &bench);
	xdg_toplevel_set_app_id(bench.toplevel, "org.weft.bench.frame");
	wl_surface_commit(bench.surface);
	while (!bench.configured) {
		if (wl_display_dispatch(bench.display) < 0) {
			return fail("the connection failed before the first configure");
		}
	}

	/* One buffer is enough: the pixman renderer copies wl_shm contents at commit, and we wait for each frame. */
	int stride = bench.width * 4;
	size_t size = (size_t)stride * (size_t)bench.height;
	int fd = memfd_create("weft-frame-bench", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, (off_t)size) < 0) {
		return fail("cannot create the shared-memory buffer");
	}
	uint32_t *pixels = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (pixels == MAP_FAILED) {
		return fail("cannot map the shared-memory buffer");
	}
	struct wl_shm_pool *pool = wl_shm_create_pool(bench.shm, fd, (int32_t)size);
	struct wl_buffer *buffer = wl_shm_pool_create_buffer(pool, 0, bench.width, bench.height, stride, WL_SHM_FORMAT_XRGB8888);

	for (int frame = 0; frame < frames; frame++) {
		uint32_t colour = (frame & 1) ? 0xff2060a0 : 0xffa06020; /* a visible change every frame */
		for (size_t i = 0; i < size / 4; i++) {
			pixels[i] = colour;
		}
		wl_surface_attach(bench.surface, buffer, 0, 0);
		wl_surface_damage_buffer(bench.surface, 0, 0, bench.width, bench.height);
		struct wl_callback *callback = wl_surface_frame(bench.surface);
		wl_callback_add_listener(callback, &frame_listener, &bench);
		bench.frame_done = false;
		int64_t committed = now_us();
		wl_surface_commit(bench.surface);
		while (!bench.frame_done) {
			if (wl_display_dispatch(bench.display) < 0) {
				return fail("the connection failed while waiting for a frame");
			}
		}
		printf("%lld\n", (long long)(now_us() - committed));
	}
	fflush(stdout);
	wl_display_disconnect(bench.display);
	return 0;
}
