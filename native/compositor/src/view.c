/*
 * A toplevel's life: created with its xdg surface (a popup gets only a scene node), mapped (announced to Bun and
 * placed by the layout), retitled, unmapped, destroyed; and what a view is: its role and session, from the client
 * connection that made it. Where it goes and who has the keyboard is layout.c's.
 */
#include <errno.h>
#include <stdlib.h>
#include <wlr/util/log.h>

#include "server.h"


bool view_is_shell(const struct weft_view *view) {
	return view->client != NULL && view->client->role == WEFT_ROLE_SHELL;
}

uint64_t view_session(const struct weft_view *view) {
	return view->client != NULL ? view->client->session_id : 0;
}

const char *view_role_name(const struct weft_view *view) {
	return view_is_shell(view) ? "shell" : "application";
}

/* ---- xdg toplevel listeners ---------------------------------------------------------------------------- */

static void view_announce(struct weft_view *view) {
	view->announced = true;
	event_window_mapped(view->server, view->id, view_session(view), view_role_name(view), view->xdg_surface->toplevel->app_id,
		view->xdg_surface->toplevel->title, view->geometry.x, view->geometry.y, view->geometry.width, view->geometry.height);
}

static void view_withdraw(struct weft_view *view) {
	if (view->announced) {
		view->announced = false;
		event_window_closed(view->server, view->id, view_session(view));
	}
}

static void view_handle_commit(struct wl_listener *listener, void *data) {
	struct weft_view *view = wl_container_of(listener, view, commit);
	/*
	 * The client's first commit (no buffer yet) asks for the initial configure, which wlroots schedules in its
	 * own commit handler, before ours: our state joins that same configure. Later commits may change the
	 * xdg geometry (and a dialog's size), so the view is placed again.
	 */
	view->initial_commit_seen = true;
	view_place(view);
}

static void view_handle_map(struct wl_listener *listener, void *data) {
	struct weft_view *view = wl_container_of(listener, view, map);
	view->mapped = true;
	view_place(view);
	view_announce(view);
	wlr_log(WLR_INFO, "window %u mapped: session %llu, app_id %s", view->id, (unsigned long long)view_session(view),
		view->xdg_surface->toplevel->app_id ? view->xdg_surface->toplevel->app_id : "(none)");
	/* A new application window comes to the front (the user just launched it). The shell's own window takes
	 * focus only when nothing else has it, so a shell restart does not pull the user out of an app. */
	if (!view_is_shell(view) || view->server->focused_view == NULL) {
		layout_focus_view(view->server, view);
	} else {
		layout_update_visibility(view->server);
	}
}

static void view_handle_unmap(struct wl_listener *listener, void *data) {
	struct weft_view *view = wl_container_of(listener, view, unmap);
	view->mapped = false;
	view_withdraw(view);
	layout_focus_after(view->server, view);
}

static void view_handle_request_maximize(struct wl_listener *listener, void *data) {
	struct weft_view *view = wl_container_of(listener, view, request_maximize);
	/* The layout decides (maximized in its slot, never fullscreen); xdg-shell still wants a configure back. */
	if (view->initial_commit_seen) {
		wlr_xdg_surface_schedule_configure(view->xdg_surface);
	}
}

static void view_handle_request_fullscreen(struct wl_listener *listener, void *data) {
	struct weft_view *view = wl_container_of(listener, view, request_fullscreen);
	if (view->initial_commit_seen) {
		wlr_xdg_surface_schedule_configure(view->xdg_surface);
	}
}

static void view_handle_metadata(struct weft_view *view) {
	if (!view->announced) {
		return;
	}
	event_window_changed(view->server, view->id, view_session(view), view->xdg_surface->toplevel->app_id,
		view->xdg_surface->toplevel->title);
}

static void view_handle_set_title(struct wl_listener *listener, void *data) {
	struct weft_view *view = wl_container_of(listener, view, set_title);
	view_handle_metadata(view);
}

static void view_handle_set_app_id(struct wl_listener *listener, void *data) {
	struct weft_view *view = wl_container_of(listener, view, set_app_id);
	view_handle_metadata(view);
}

static void view_handle_destroy(struct wl_listener *listener, void *data) {
	struct weft_view *view = wl_container_of(listener, view, destroy);
	struct weft_server *server = view->server;
	view->mapped = false;
	view_withdraw(view);
	layout_focus_after(server, view);
	wl_list_remove(&view->commit.link);
	wl_list_remove(&view->map.link);
	wl_list_remove(&view->unmap.link);
	wl_list_remove(&view->destroy.link);
	wl_list_remove(&view->request_maximize.link);
	wl_list_remove(&view->request_fullscreen.link);
	wl_list_remove(&view->set_title.link);
	wl_list_remove(&view->set_app_id.link);
	wl_list_remove(&view->link);
	/* The xdg scene node inside goes with the surface; our tree goes now. */
	wlr_scene_node_destroy(&view->tree->node);
	free(view);
}

static void layout_new_popup(struct wlr_xdg_surface *xdg_surface) {
	/* A popup is drawn in its parent's scene tree; xdg_surface->data holds each surface's node for this. */
	struct wlr_surface *parent_surface = xdg_surface->popup->parent;
	if (parent_surface == NULL || !wlr_surface_is_xdg_surface(parent_surface)) {
		return;
	}
	struct wlr_xdg_surface *parent = wlr_xdg_surface_from_wlr_surface(parent_surface);
	if (parent->data == NULL) {
		return;
	}
	xdg_surface->data = wlr_scene_xdg_surface_create(parent->data, xdg_surface);
}

void server_handle_new_xdg_surface(struct wl_listener *listener, void *data) {
	struct weft_server *server = wl_container_of(listener, server, new_xdg_surface);
	struct wlr_xdg_surface *xdg_surface = data;

	if (xdg_surface->role == WLR_XDG_SURFACE_ROLE_POPUP) {
		layout_new_popup(xdg_surface);
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
	view->id = ++server->next_view_id;
	view->xdg_surface = xdg_surface;
	view->client = client_from_wl_client(wl_resource_get_client(xdg_surface->resource));
	view->tree = wlr_scene_tree_create(view_is_shell(view) ? &server->layer_shell->node : &server->layer_apps->node);
	struct wlr_scene_node *surface_node = view->tree ? wlr_scene_xdg_surface_create(&view->tree->node, xdg_surface) : NULL;
	if (surface_node == NULL) {
		if (view->tree != NULL) {
			wlr_scene_node_destroy(&view->tree->node);
		}
		free(view);
		wl_resource_post_no_memory(xdg_surface->resource);
		return;
	}
	view->tree->node.data = view;
	xdg_surface->data = surface_node;
	/* Hidden until its session is shown (layout_update_visibility); the xdg node itself follows map/unmap. */
	wlr_scene_node_set_enabled(&view->tree->node, view_is_shell(view) || view_session(view) == server->shown_session);

	view->commit.notify = view_handle_commit;
	wl_signal_add(&xdg_surface->surface->events.commit, &view->commit);
	view->map.notify = view_handle_map;
	wl_signal_add(&xdg_surface->events.map, &view->map);
	view->unmap.notify = view_handle_unmap;
	wl_signal_add(&xdg_surface->events.unmap, &view->unmap);
	view->destroy.notify = view_handle_destroy;
	wl_signal_add(&xdg_surface->events.destroy, &view->destroy);
	view->request_maximize.notify = view_handle_request_maximize;
	wl_signal_add(&xdg_surface->toplevel->events.request_maximize, &view->request_maximize);
	view->request_fullscreen.notify = view_handle_request_fullscreen;
	wl_signal_add(&xdg_surface->toplevel->events.request_fullscreen, &view->request_fullscreen);
	view->set_title.notify = view_handle_set_title;
	wl_signal_add(&xdg_surface->toplevel->events.set_title, &view->set_title);
	view->set_app_id.notify = view_handle_set_app_id;
	wl_signal_add(&xdg_surface->toplevel->events.set_app_id, &view->set_app_id);
	/* Last in the list: it has not been focused yet. */
	wl_list_insert(server->views.prev, &view->link);
}
