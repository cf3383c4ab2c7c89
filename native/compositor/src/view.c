/*
 * xdg-shell: every toplevel becomes a view with a scene node, configured maximized to the first output's
 * size and placed at its origin; popups are drawn in their parent's scene node. Layout per session (panel,
 * application area, focus) is a later milestone.
 */
#include <stdlib.h>
#include <wlr/util/log.h>

#include "server.h"

static void view_handle_commit(struct wl_listener *listener, void *data) {
	struct weft_view *view = wl_container_of(listener, view, commit);
	/*
	 * xdg-shell: the client's first commit (with no buffer) asks for the initial configure, which wlroots
	 * schedules in its own commit handler, before ours. We put our state into that same configure instead of
	 * sending one before the client is ready for it. Later commits leave the size alone.
	 */
	if (view->initial_configure_set) {
		return;
	}
	view->initial_configure_set = true;
	struct wlr_box box;
	if (!output_first_box(view->server, &box)) {
		return; /* no output: let the client choose its size */
	}
	wlr_xdg_toplevel_set_maximized(view->xdg_surface, true);
	wlr_xdg_toplevel_set_size(view->xdg_surface, (uint32_t)box.width, (uint32_t)box.height);
	wlr_scene_node_set_position(view->scene_node, box.x, box.y);
}

static void view_handle_map(struct wl_listener *listener, void *data) {
	struct weft_view *view = wl_container_of(listener, view, map);
	/* The scene node shows itself on map; the newest toplevel goes on top. */
	wlr_scene_node_raise_to_top(view->scene_node);
	wlr_log(WLR_INFO, "toplevel mapped: session %llu, app_id %s",
		view->client ? (unsigned long long)view->client->session_id : 0ULL,
		view->xdg_surface->toplevel->app_id ? view->xdg_surface->toplevel->app_id : "(none)");
}

static void view_handle_destroy(struct wl_listener *listener, void *data) {
	struct weft_view *view = wl_container_of(listener, view, destroy);
	wl_list_remove(&view->commit.link);
	wl_list_remove(&view->map.link);
	wl_list_remove(&view->destroy.link);
	wl_list_remove(&view->link);
	free(view);
}

void server_handle_new_xdg_surface(struct wl_listener *listener, void *data) {
	struct weft_server *server = wl_container_of(listener, server, new_xdg_surface);
	struct wlr_xdg_surface *xdg_surface = data;

	if (xdg_surface->role == WLR_XDG_SURFACE_ROLE_POPUP) {
		/* A popup is drawn in its parent's tree; data holds each xdg surface's scene node for this. */
		struct wlr_surface *parent_surface = xdg_surface->popup->parent;
		if (parent_surface == NULL || !wlr_surface_is_xdg_surface(parent_surface)) {
			return;
		}
		struct wlr_xdg_surface *parent = wlr_xdg_surface_from_wlr_surface(parent_surface);
		if (parent->data == NULL) {
			return;
		}
		xdg_surface->data = wlr_scene_xdg_surface_create(parent->data, xdg_surface);
		return;
	}
	if (xdg_surface->role != WLR_XDG_SURFACE_ROLE_TOPLEVEL) {
		return;
	}

	struct weft_view *view = calloc(1, sizeof(*view));
	if (view == NULL) {
		wl_resource_post_no_memory(xdg_surface->resource);
		return;
	}
	view->server = server;
	view->xdg_surface = xdg_surface;
	view->client = client_from_wl_client(wl_resource_get_client(xdg_surface->resource));
	view->scene_node = wlr_scene_xdg_surface_create(&server->scene->node, xdg_surface);
	if (view->scene_node == NULL) {
		free(view);
		wl_resource_post_no_memory(xdg_surface->resource);
		return;
	}
	view->scene_node->data = view;
	xdg_surface->data = view->scene_node;

	view->commit.notify = view_handle_commit;
	wl_signal_add(&xdg_surface->surface->events.commit, &view->commit);
	view->map.notify = view_handle_map;
	wl_signal_add(&xdg_surface->events.map, &view->map);
	view->destroy.notify = view_handle_destroy;
	wl_signal_add(&xdg_surface->events.destroy, &view->destroy);
	wl_list_insert(&server->views, &view->link);
}
