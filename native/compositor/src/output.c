/*
 * Outputs: each backend output gets the pixman renderer, its preferred mode, a place in the output layout (which
 * advertises it as wl_output) and a scene output that draws the scene graph on every frame.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <wlr/util/log.h>

#include "server.h"

static void output_handle_frame(struct wl_listener *listener, void *data) {
	struct weft_output *output = wl_container_of(listener, output, frame);
	struct wlr_scene_output *scene_output = wlr_scene_get_scene_output(output->server->scene, output->wlr_output);
	if (scene_output == NULL) {
		return;
	}
	wlr_scene_output_commit(scene_output);
	/* Clients throttle on wl_surface.frame: tell them this frame is done even when nothing was redrawn. */
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	wlr_scene_output_send_frame_done(scene_output, &now);
}

static void output_handle_destroy(struct wl_listener *listener, void *data) {
	struct weft_output *output = wl_container_of(listener, output, destroy);
	wl_list_remove(&output->frame.link);
	wl_list_remove(&output->destroy.link);
	wl_list_remove(&output->link);
	struct weft_server *server = output->server;
	free(output);
	layout_arrange(server);
}

void server_handle_new_output(struct wl_listener *listener, void *data) {
	struct weft_server *server = wl_container_of(listener, server, new_output);
	struct wlr_output *wlr_output = data;

	if (!wlr_output_init_render(wlr_output, server->allocator, server->renderer)) {
		wlr_log(WLR_ERROR, "unable to set up rendering for output %s", wlr_output->name);
		return;
	}
	/* Headless outputs have no modes (they come with a fixed size); real ones have a preferred mode. */
	struct wlr_output_mode *mode = wlr_output_preferred_mode(wlr_output);
	if (mode != NULL) {
		wlr_output_set_mode(wlr_output, mode);
	}
	wlr_output_enable(wlr_output, true);
	if (!wlr_output_commit(wlr_output)) {
		wlr_log(WLR_ERROR, "unable to enable output %s", wlr_output->name);
		return;
	}

	struct weft_output *output = calloc(1, sizeof(*output));
	if (output == NULL) {
		return;
	}
	output->server = server;
	output->wlr_output = wlr_output;
	output->frame.notify = output_handle_frame;
	wl_signal_add(&wlr_output->events.frame, &output->frame);
	output->destroy.notify = output_handle_destroy;
	wl_signal_add(&wlr_output->events.destroy, &output->destroy);
	wl_list_insert(server->outputs.prev, &output->link);

	/* Placing it in the layout creates its wl_output global; the scene follows the layout. */
	wlr_output_layout_add_auto(server->output_layout, wlr_output);
	layout_arrange(server);
	wlr_log(WLR_INFO, "output %s: %dx%d", wlr_output->name, wlr_output->width, wlr_output->height);
}

int output_list(struct weft_server *server, char *buffer, size_t buffer_len) {
	size_t used = 0;
	if (buffer_len == 0) {
		return -ERANGE;
	}
	buffer[0] = '\0';
	struct weft_output *output;
	wl_list_for_each(output, &server->outputs, link) {
		struct wlr_box *box = wlr_output_layout_get_box(server->output_layout, output->wlr_output);
		if (box == NULL) {
			continue; /* not (or no longer) in the layout */
		}
		int written = snprintf(buffer + used, buffer_len - used, "%s\t%d\t%d\t%d\t%d\n",
			output->wlr_output->name, box->x, box->y, box->width, box->height);
		if (written < 0 || (size_t)written >= buffer_len - used) {
			return -ERANGE;
		}
		used += (size_t)written;
	}
	return (int)used;
}

bool output_first_box(struct weft_server *server, struct wlr_box *box) {
	struct weft_output *output;
	wl_list_for_each(output, &server->outputs, link) {
		struct wlr_box *layout_box = wlr_output_layout_get_box(server->output_layout, output->wlr_output);
		if (layout_box != NULL) {
			*box = *layout_box;
			return true;
		}
	}
	return false;
}

struct weft_output *output_by_name(struct weft_server *server, const char *name) {
	struct weft_output *output;
	wl_list_for_each(output, &server->outputs, link) {
		if (name == NULL || name[0] == '\0' || strcmp(output->wlr_output->name, name) == 0) {
			return output;
		}
	}
	return NULL;
}
