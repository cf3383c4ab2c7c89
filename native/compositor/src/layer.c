/*
 * wlr-layer-shell (protocol/wlr-layer-shell-unstable-v1.xml): wallpapers, bars and overlays of the shell.
 * The global is privileged (shell-role clients only). wlroots 0.15 handles the protocol state; it has no
 * scene helper for layer surfaces, so placement is ours:
 *
 *   layer       scene tree          for each layer, top (overlay) to bottom (background):
 *   overlay  →  layer_overlay         1. surfaces with an exclusive zone, inside the area still free;
 *   top      →  layer_panels             each one takes its zone (+ margin) off that edge of the area
 *   bottom   →  layer_shell           2. the other surfaces, inside the area left (exclusive zone -1:
 *   background→ layer_background         the whole output)
 *
 * A zone taken off an output edge becomes a weft_reservation, so the application area shrinks with it.
 * Layer surfaces live on the first output (the layout's only output today).
 */
#include <stdlib.h>
#include <wlr/types/wlr_layer_shell_v1.h>
#include <wlr/util/log.h>

#include "server.h"

struct weft_layer_shell {
	struct weft_server *server;
	struct wlr_layer_shell_v1 *wlr_layer_shell;
	struct wl_list surfaces; /* weft_layer_surface.link */
	bool arranging;          /* our own reservation change comes back through layout_changed */
	struct wl_listener new_surface;
	struct wl_listener layout_changed;
};

struct weft_layer_surface {
	struct weft_layer_shell *shell;
	struct wlr_layer_surface_v1 *layer_surface;
	struct wlr_scene_tree *tree; /* in the layer's scene tree; enabled while mapped */
	struct wlr_box box;          /* where arrange put it, layout coordinates */
	struct weft_reservation reservation;
	bool reserving;
	struct wl_listener map;
	struct wl_listener unmap;
	struct wl_listener destroy;
	struct wl_listener surface_commit;
	struct wl_listener output_destroy;
	struct wl_list link; /* weft_layer_shell.surfaces */
};

/* wlroots 0.15 has no wlr_box_equal. */
static bool box_equal(const struct wlr_box *a, const struct wlr_box *b) {
	return a->x == b->x && a->y == b->y && a->width == b->width && a->height == b->height;
}

static struct wlr_scene_tree *layer_tree(struct weft_server *server, enum zwlr_layer_shell_v1_layer layer) {
	switch (layer) {
	case ZWLR_LAYER_SHELL_V1_LAYER_BACKGROUND:
		return server->layer_background;
	case ZWLR_LAYER_SHELL_V1_LAYER_BOTTOM:
		return server->layer_shell;
	case ZWLR_LAYER_SHELL_V1_LAYER_TOP:
		return server->layer_panels;
	case ZWLR_LAYER_SHELL_V1_LAYER_OVERLAY:
		return server->layer_overlay;
	}
	return server->layer_panels;
}

enum layer_edge { EDGE_NONE, EDGE_TOP, EDGE_BOTTOM, EDGE_LEFT, EDGE_RIGHT };

/* The edge an exclusive zone applies to: anchored to one edge alone, or to it and both its neighbours. */
static enum layer_edge exclusive_edge(uint32_t anchor) {
	const uint32_t top = ZWLR_LAYER_SURFACE_V1_ANCHOR_TOP, bottom = ZWLR_LAYER_SURFACE_V1_ANCHOR_BOTTOM;
	const uint32_t left = ZWLR_LAYER_SURFACE_V1_ANCHOR_LEFT, right = ZWLR_LAYER_SURFACE_V1_ANCHOR_RIGHT;
	if (anchor == top || anchor == (top | left | right)) {
		return EDGE_TOP;
	}
	if (anchor == bottom || anchor == (bottom | left | right)) {
		return EDGE_BOTTOM;
	}
	if (anchor == left || anchor == (left | top | bottom)) {
		return EDGE_LEFT;
	}
	if (anchor == right || anchor == (right | top | bottom)) {
		return EDGE_RIGHT;
	}
	return EDGE_NONE;
}

/* Size and position of one surface inside bounds, from its anchors, requested size and margins. */
static struct wlr_box layer_box(const struct wlr_layer_surface_v1_state *state, const struct wlr_box *bounds) {
	bool left = state->anchor & ZWLR_LAYER_SURFACE_V1_ANCHOR_LEFT;
	bool right = state->anchor & ZWLR_LAYER_SURFACE_V1_ANCHOR_RIGHT;
	bool top = state->anchor & ZWLR_LAYER_SURFACE_V1_ANCHOR_TOP;
	bool bottom = state->anchor & ZWLR_LAYER_SURFACE_V1_ANCHOR_BOTTOM;
	struct wlr_box box = { .width = (int)state->desired_width, .height = (int)state->desired_height };

	if (box.width == 0 && left && right) {
		box.x = bounds->x + (int)state->margin.left;
		box.width = bounds->width - (int)state->margin.left - (int)state->margin.right;
	} else if (left && !right) {
		box.x = bounds->x + (int)state->margin.left;
	} else if (right && !left) {
		box.x = bounds->x + bounds->width - box.width - (int)state->margin.right;
	} else {
		box.x = bounds->x + (bounds->width - box.width) / 2;
	}
	if (box.height == 0 && top && bottom) {
		box.y = bounds->y + (int)state->margin.top;
		box.height = bounds->height - (int)state->margin.top - (int)state->margin.bottom;
	} else if (top && !bottom) {
		box.y = bounds->y + (int)state->margin.top;
	} else if (bottom && !top) {
		box.y = bounds->y + bounds->height - box.height - (int)state->margin.bottom;
	} else {
		box.y = bounds->y + (bounds->height - box.height) / 2;
	}
	return box;
}

/* Takes the surface's exclusive zone off usable; returns the strip from the output edge it reserves. */
static bool take_exclusive_zone(const struct wlr_layer_surface_v1_state *state, const struct wlr_box *output,
		struct wlr_box *usable, struct wlr_box *strip) {
	int zone = state->exclusive_zone;
	switch (exclusive_edge(state->anchor)) {
	case EDGE_TOP:
		zone += (int)state->margin.top;
		usable->y += zone;
		usable->height -= zone;
		*strip = (struct wlr_box){ output->x, output->y, output->width, usable->y - output->y };
		return true;
	case EDGE_BOTTOM:
		zone += (int)state->margin.bottom;
		usable->height -= zone;
		*strip = (struct wlr_box){ output->x, usable->y + usable->height, output->width,
			output->y + output->height - (usable->y + usable->height) };
		return true;
	case EDGE_LEFT:
		zone += (int)state->margin.left;
		usable->x += zone;
		usable->width -= zone;
		*strip = (struct wlr_box){ output->x, output->y, usable->x - output->x, output->height };
		return true;
	case EDGE_RIGHT:
		zone += (int)state->margin.right;
		usable->width -= zone;
		*strip = (struct wlr_box){ usable->x + usable->width, output->y,
			output->x + output->width - (usable->x + usable->width), output->height };
		return true;
	case EDGE_NONE:
		break;
	}
	return false;
}

static void surface_set_reservation(struct weft_layer_surface *surface, const struct wlr_box *strip,
		bool *changed) {
	if (strip != NULL && surface->reserving && box_equal(strip, &surface->reservation.box)) {
		return;
	}
	if (strip == NULL && !surface->reserving) {
		return;
	}
	if (surface->reserving) {
		wl_list_remove(&surface->reservation.link);
		surface->reserving = false;
	}
	if (strip != NULL) {
		surface->reservation.box = *strip;
		wl_list_insert(&surface->shell->server->reservations, &surface->reservation.link);
		surface->reserving = true;
	}
	*changed = true;
}

/* Places one surface and sends a configure when its size changed; a surface that fits nowhere is closed. */
static bool surface_place(struct weft_layer_surface *surface, const struct wlr_box *bounds) {
	struct wlr_layer_surface_v1 *layer_surface = surface->layer_surface;
	struct wlr_box box = layer_box(&layer_surface->current, bounds);
	if (box.width <= 0 || box.height <= 0) {
		wlr_log(WLR_ERROR, "layer surface %s: no room (%dx%d): closing it", layer_surface->namespace,
			box.width, box.height);
		return false;
	}
	surface->box = box;
	wlr_scene_node_set_position(&surface->tree->node, box.x, box.y);
	if (!layer_surface->configured || layer_surface->current.actual_width != (uint32_t)box.width ||
			layer_surface->current.actual_height != (uint32_t)box.height) {
		/* wlroots keeps configures until acked: only send one when the size we want is not already pending. */
		struct wlr_layer_surface_v1_configure *last = wl_list_empty(&layer_surface->configure_list) ? NULL :
			wl_container_of(layer_surface->configure_list.prev, last, link);
		if (last == NULL || last->width != (uint32_t)box.width || last->height != (uint32_t)box.height) {
			wlr_layer_surface_v1_configure(layer_surface, (uint32_t)box.width, (uint32_t)box.height);
		}
	}
	return true;
}

static void layer_arrange(struct weft_layer_shell *shell) {
	struct weft_server *server = shell->server;
	if (shell->arranging || server->stopping) {
		return;
	}
	struct wlr_box output;
	if (!output_first_box(server, &output)) {
		return;
	}
	shell->arranging = true;
	bool reservations_changed = false;
	struct wlr_box usable = output;
	struct weft_layer_surface *surface, *tmp;
	/* Top layer first: a bar in the top layer keeps the bottom layer's dock out of its strip. */
	for (int layer = ZWLR_LAYER_SHELL_V1_LAYER_OVERLAY; layer >= ZWLR_LAYER_SHELL_V1_LAYER_BACKGROUND; layer--) {
		for (int pass = 0; pass < 2; pass++) {
			bool exclusive_pass = pass == 0;
			wl_list_for_each_safe(surface, tmp, &shell->surfaces, link) {
				struct wlr_layer_surface_v1 *layer_surface = surface->layer_surface;
				const struct wlr_layer_surface_v1_state *state = &layer_surface->current;
				if ((int)state->layer != layer || (state->exclusive_zone > 0) != exclusive_pass) {
					continue;
				}
				/* Before the first commit there is nothing to place; wlroots announces surfaces on it. */
				if (!layer_surface->added) {
					continue;
				}
				const struct wlr_box *bounds = state->exclusive_zone == -1 ? &output : &usable;
				if (!surface_place(surface, bounds)) {
					surface_set_reservation(surface, NULL, &reservations_changed);
					wlr_layer_surface_v1_destroy(layer_surface); /* sends closed; destroy handler runs */
					continue;
				}
				struct wlr_box strip;
				bool reserve = exclusive_pass && layer_surface->mapped &&
					take_exclusive_zone(state, &output, &usable, &strip);
				surface_set_reservation(surface, reserve ? &strip : NULL, &reservations_changed);
			}
		}
	}
	shell->arranging = false;
	if (reservations_changed) {
		layout_reservations_changed(server); /* emits layout_changed: we come back and find nothing to do */
	}
}

/* ---- layer surface listeners ------------------------------------------------------------------------- */

static void surface_handle_map(struct wl_listener *listener, void *data) {
	struct weft_layer_surface *surface = wl_container_of(listener, surface, map);
	wlr_scene_node_set_enabled(&surface->tree->node, true);
	wlr_log(WLR_INFO, "layer surface %s mapped at %d,%d %dx%d", surface->layer_surface->namespace, surface->box.x,
		surface->box.y, surface->box.width, surface->box.height);
	layer_arrange(surface->shell); /* its exclusive zone counts from now on */
}

static void surface_handle_unmap(struct wl_listener *listener, void *data) {
	struct weft_layer_surface *surface = wl_container_of(listener, surface, unmap);
	wlr_scene_node_set_enabled(&surface->tree->node, false);
	layer_arrange(surface->shell);
}

static void surface_handle_commit(struct wl_listener *listener, void *data) {
	struct weft_layer_surface *surface = wl_container_of(listener, surface, surface_commit);
	struct wlr_layer_surface_v1 *layer_surface = surface->layer_surface;
	/* set_layer moves it between scene trees; anchors, size, margins or zone may have changed too. */
	struct wlr_scene_tree *tree = layer_tree(surface->shell->server, layer_surface->current.layer);
	if (surface->tree->node.parent != &tree->node) {
		wlr_scene_node_reparent(&surface->tree->node, &tree->node);
	}
	layer_arrange(surface->shell);
}

static void surface_handle_destroy(struct wl_listener *listener, void *data) {
	struct weft_layer_surface *surface = wl_container_of(listener, surface, destroy);
	struct weft_layer_shell *shell = surface->shell;
	bool changed = false;
	surface_set_reservation(surface, NULL, &changed);
	wl_list_remove(&surface->map.link);
	wl_list_remove(&surface->unmap.link);
	wl_list_remove(&surface->destroy.link);
	wl_list_remove(&surface->surface_commit.link);
	wl_list_remove(&surface->output_destroy.link);
	wl_list_remove(&surface->link);
	wlr_scene_node_destroy(&surface->tree->node);
	free(surface);
	if (changed && !shell->arranging) {
		layout_reservations_changed(shell->server);
	}
	layer_arrange(shell); /* the others may use the room it leaves */
}

static void surface_handle_output_destroy(struct wl_listener *listener, void *data) {
	struct weft_layer_surface *surface = wl_container_of(listener, surface, output_destroy);
	/* Its output is gone: tell the client (closed) and forget the surface. */
	wlr_layer_surface_v1_destroy(surface->layer_surface);
}

static void layer_handle_new_surface(struct wl_listener *listener, void *data) {
	struct weft_layer_shell *shell = wl_container_of(listener, shell, new_surface);
	struct wlr_layer_surface_v1 *layer_surface = data;
	struct weft_server *server = shell->server;

	/* A null output means "you pick": the first output, where the layout lives. */
	if (layer_surface->output == NULL) {
		struct weft_output *first;
		wl_list_for_each(first, &server->outputs, link) {
			layer_surface->output = first->wlr_output;
			break;
		}
	}
	if (layer_surface->output == NULL) {
		wlr_log(WLR_ERROR, "layer surface %s: no output to put it on", layer_surface->namespace);
		wlr_layer_surface_v1_destroy(layer_surface);
		return;
	}

	struct weft_layer_surface *surface = calloc(1, sizeof(*surface));
	if (surface == NULL) {
		wlr_layer_surface_v1_destroy(layer_surface);
		return;
	}
	surface->shell = shell;
	surface->layer_surface = layer_surface;
	surface->tree = wlr_scene_tree_create(&layer_tree(server, layer_surface->current.layer)->node);
	if (surface->tree == NULL || wlr_scene_subsurface_tree_create(&surface->tree->node, layer_surface->surface) == NULL) {
		if (surface->tree != NULL) {
			wlr_scene_node_destroy(&surface->tree->node);
		}
		free(surface);
		wlr_layer_surface_v1_destroy(layer_surface);
		return;
	}
	wlr_scene_node_set_enabled(&surface->tree->node, false); /* shown on map */
	wl_list_init(&surface->reservation.link);
	layer_surface->data = surface;

	surface->map.notify = surface_handle_map;
	wl_signal_add(&layer_surface->events.map, &surface->map);
	surface->unmap.notify = surface_handle_unmap;
	wl_signal_add(&layer_surface->events.unmap, &surface->unmap);
	surface->destroy.notify = surface_handle_destroy;
	wl_signal_add(&layer_surface->events.destroy, &surface->destroy);
	surface->surface_commit.notify = surface_handle_commit;
	wl_signal_add(&layer_surface->surface->events.commit, &surface->surface_commit);
	surface->output_destroy.notify = surface_handle_output_destroy;
	wl_signal_add(&layer_surface->output->events.destroy, &surface->output_destroy);
	wl_list_insert(shell->surfaces.prev, &surface->link);

	wlr_log(WLR_INFO, "layer surface %s: layer %d, anchor %u, size %ux%u, exclusive zone %d", layer_surface->namespace,
		layer_surface->current.layer, layer_surface->current.anchor, layer_surface->current.desired_width,
		layer_surface->current.desired_height, layer_surface->current.exclusive_zone);
	/* The client's first commit brought it here: it waits for its initial configure. */
	layer_arrange(shell);
}

static void layer_handle_layout_changed(struct wl_listener *listener, void *data) {
	struct weft_layer_shell *shell = wl_container_of(listener, shell, layout_changed);
	layer_arrange(shell);
}

bool layer_init(struct weft_server *server) {
	struct weft_layer_shell *shell = calloc(1, sizeof(*shell));
	if (shell == NULL) {
		return false;
	}
	shell->server = server;
	wl_list_init(&shell->surfaces);
	shell->wlr_layer_shell = wlr_layer_shell_v1_create(server->wl_display);
	if (shell->wlr_layer_shell == NULL) {
		free(shell);
		return false;
	}
	client_add_privileged_global(server, shell->wlr_layer_shell->global);
	shell->new_surface.notify = layer_handle_new_surface;
	wl_signal_add(&shell->wlr_layer_shell->events.new_surface, &shell->new_surface);
	shell->layout_changed.notify = layer_handle_layout_changed;
	wl_signal_add(&server->events.layout_changed, &shell->layout_changed);
	server->layer_shell_v1 = shell;
	return true;
}

void layer_finish(struct weft_server *server) {
	struct weft_layer_shell *shell = server->layer_shell_v1;
	if (shell == NULL) {
		return;
	}
	/* Clients are gone by now, and their layer surfaces with them. The global goes with the display. */
	if (!wl_list_empty(&shell->surfaces)) {
		wlr_log(WLR_ERROR, "layer shell: %d surfaces outlived their clients", wl_list_length(&shell->surfaces));
	}
	wl_list_remove(&shell->new_surface.link);
	wl_list_remove(&shell->layout_changed.link);
	free(shell);
	server->layer_shell_v1 = NULL;
}
