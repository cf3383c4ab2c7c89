/*
 * Layout and focus: where every toplevel goes and who has the keyboard.
 *
 *   ┌──────────────────────────────────────────┐  the first output
 *   │ shell toplevels: the whole output, lowest│  (the system shell's page: home screen, launcher)
 *   │  ┌────────────────────────────────────┐  │
 *   │  │ application area: the shown        │  │  = output minus reservations (zweft panels,
 *   │  │ session's toplevels, maximized,    │  │    layer-shell exclusive zones at an edge)
 *   │  │ tiled, server-side decorated       │  │
 *   │  └────────────────────────────────────┘  │
 *   │ panel strip (reserved): shell page shows │
 *   └──────────────────────────────────────────┘
 *
 * One session is "shown" at a time; the other sessions' views stay mapped but disabled in the scene, so a
 * session never draws over another. Session 0 shown means home: the shell's page is what the user sees.
 * Keyboard focus is one view (or none); focusing an application view shows its session. Views are kept
 * most-recently-focused first, which is also the stacking order within a layer.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <wlr/util/edges.h>
#include <wlr/util/log.h>

#include "server.h"

static bool view_is_shell(const struct weft_view *view) {
	return view->client != NULL && view->client->role == WEFT_ROLE_SHELL;
}

static uint64_t view_session(const struct weft_view *view) {
	return view->client != NULL ? view->client->session_id : 0;
}

static const char *view_role_name(const struct weft_view *view) {
	return view_is_shell(view) ? "shell" : "application";
}

/* ---- placement ------------------------------------------------------------------------------------- */

/* Sends a configure only when the state we want differs from what the client was last told. */
static void view_configure(struct weft_view *view, const struct wlr_box *box, bool maximized) {
	if (!view->initial_commit_seen) {
		return; /* xdg-shell: no configure before the client's first commit; view_handle_commit catches up */
	}
	if (view->configured.width == box->width && view->configured.height == box->height) {
		return;
	}
	view->configured = *box;
	if (maximized) {
		wlr_xdg_toplevel_set_maximized(view->xdg_surface, true);
		wlr_xdg_toplevel_set_tiled(view->xdg_surface,
			WLR_EDGE_TOP | WLR_EDGE_BOTTOM | WLR_EDGE_LEFT | WLR_EDGE_RIGHT);
	}
	wlr_xdg_toplevel_set_size(view->xdg_surface, (uint32_t)box->width, (uint32_t)box->height);
}

/* A dialog (a toplevel with a parent) keeps its own size, centred in the area; every other toplevel fills it. */
static void view_place(struct weft_view *view) {
	struct weft_server *server = view->server;
	struct wlr_box area;
	if (view_is_shell(view)) {
		if (!output_first_box(server, &area)) {
			return;
		}
	} else {
		area = server->app_area;
	}
	if (area.width <= 0 || area.height <= 0) {
		return;
	}

	struct wlr_box content;
	wlr_xdg_surface_get_geometry(view->xdg_surface, &content);
	if (view->xdg_surface->toplevel->parent != NULL) {
		int width = content.width < area.width ? content.width : area.width;
		int height = content.height < area.height ? content.height : area.height;
		view->geometry = (struct wlr_box){
			.x = area.x + (area.width - width) / 2,
			.y = area.y + (area.height - height) / 2,
			.width = width,
			.height = height,
		};
	} else {
		view->geometry = area;
		view_configure(view, &area, true);
	}
	/* The xdg geometry may start inside the buffer (client-side shadows): align the content, not the buffer. */
	wlr_scene_node_set_position(&view->tree->node, view->geometry.x - content.x, view->geometry.y - content.y);
}

static void layout_update_visibility(struct weft_server *server) {
	struct weft_view *view;
	wl_list_for_each(view, &server->views, link) {
		bool visible = view_is_shell(view) || view_session(view) == server->shown_session;
		wlr_scene_node_set_enabled(&view->tree->node, visible);
	}
}

void layout_arrange(struct weft_server *server) {
	if (server->stopping) {
		return;
	}
	struct wlr_box output;
	if (!output_first_box(server, &output)) {
		server->app_area = (struct wlr_box){ 0 };
		return;
	}
	/* Only strips that span a whole edge of the output reserve space; anything else floats above. */
	int top = 0, bottom = 0, left = 0, right = 0;
	struct weft_reservation *reservation;
	wl_list_for_each(reservation, &server->reservations, link) {
		struct wlr_box strip;
		if (!wlr_box_intersection(&strip, &reservation->box, &output)) {
			continue;
		}
		if (strip.width == output.width && strip.y == output.y) {
			top = strip.height > top ? strip.height : top;
		} else if (strip.width == output.width && strip.y + strip.height == output.y + output.height) {
			bottom = strip.height > bottom ? strip.height : bottom;
		} else if (strip.height == output.height && strip.x == output.x) {
			left = strip.width > left ? strip.width : left;
		} else if (strip.height == output.height && strip.x + strip.width == output.x + output.width) {
			right = strip.width > right ? strip.width : right;
		}
	}
	struct wlr_box area = {
		.x = output.x + left,
		.y = output.y + top,
		.width = output.width - left - right,
		.height = output.height - top - bottom,
	};
	if (area.width < 1 || area.height < 1) {
		wlr_log(WLR_ERROR, "reservations cover the whole output: ignoring them for the application area");
		area = output;
	}
	server->app_area = area;

	struct weft_view *view;
	wl_list_for_each(view, &server->views, link) {
		view_place(view);
	}
	wl_signal_emit(&server->events.layout_changed, NULL);
}

void layout_reservations_changed(struct weft_server *server) {
	layout_arrange(server);
}

/* ---- focus ------------------------------------------------------------------------------------------- */

void layout_focus_view(struct weft_server *server, struct weft_view *view) {
	if (view != NULL && !view->mapped) {
		return;
	}
	struct weft_view *previous = server->focused_view;
	if (previous != NULL && previous != view) {
		wlr_xdg_toplevel_set_activated(previous->xdg_surface, false);
	}
	server->focused_view = view;

	if (view == NULL) {
		wlr_seat_keyboard_notify_clear_focus(server->seat);
	} else {
		if (!view_is_shell(view)) {
			server->shown_session = view_session(view);
		}
		wl_list_remove(&view->link);
		wl_list_insert(&server->views, &view->link);
		wlr_scene_node_raise_to_top(&view->tree->node);
		wlr_xdg_toplevel_set_activated(view->xdg_surface, true);
		struct wlr_keyboard *keyboard = wlr_seat_get_keyboard(server->seat);
		wlr_seat_keyboard_notify_enter(server->seat, view->xdg_surface->surface,
			keyboard ? keyboard->keycodes : NULL, keyboard ? keyboard->num_keycodes : 0,
			keyboard ? &keyboard->modifiers : NULL);
	}
	layout_update_visibility(server);

	if (previous != view) {
		event_focus(server, view ? view->id : 0, view ? view_session(view) : 0);
		wl_signal_emit(&server->events.focus_changed, view);
	}
}

/* The most recently focused mapped view that matches (views are kept in that order). */
static struct weft_view *layout_top_view(struct weft_server *server, bool shell, uint64_t session) {
	struct weft_view *view;
	wl_list_for_each(view, &server->views, link) {
		if (view->mapped && view_is_shell(view) == shell && (shell || view_session(view) == session)) {
			return view;
		}
	}
	return NULL;
}

int layout_show_session(struct weft_server *server, uint64_t session) {
	if (session == 0) {
		server->shown_session = 0;
		layout_focus_view(server, layout_top_view(server, true, 0));
		layout_update_visibility(server);
		return 0;
	}
	struct weft_view *view = layout_top_view(server, false, session);
	if (view == NULL) {
		return -ENOENT;
	}
	layout_focus_view(server, view);
	return 0;
}

/* After view stopped being focusable: its session's next window, else home. */
static void layout_focus_after(struct weft_server *server, struct weft_view *gone) {
	if (server->focused_view == gone && server->stopping) {
		server->focused_view = NULL;
		return;
	}
	if (server->focused_view != gone) {
		return;
	}
	server->focused_view = NULL;
	struct weft_view *next = view_is_shell(gone) ? NULL : layout_top_view(server, false, view_session(gone));
	if (next != NULL) {
		layout_focus_view(server, next);
	} else if (!view_is_shell(gone) && server->shown_session == view_session(gone)) {
		layout_show_session(server, 0);
	} else {
		/* A shell toplevel went away while it had focus: the shown session's window, if any, else another shell one. */
		struct weft_view *shown = server->shown_session ? layout_top_view(server, false, server->shown_session) : NULL;
		layout_focus_view(server, shown ? shown : layout_top_view(server, true, 0));
	}
	if (server->focused_view == NULL) {
		/* Nothing left to focus: say so (layout_focus_view(NULL) would see no change and stay silent). */
		wlr_seat_keyboard_notify_clear_focus(server->seat);
		event_focus(server, 0, 0);
		wl_signal_emit(&server->events.focus_changed, NULL);
	}
}

struct weft_view *layout_view_at(struct weft_server *server, double lx, double ly,
		struct wlr_surface **surface, double *sx, double *sy) {
	struct wlr_scene_node *node = wlr_scene_node_at(&server->scene->node, lx, ly, sx, sy);
	if (node == NULL || node->type != WLR_SCENE_NODE_SURFACE) {
		return NULL;
	}
	*surface = wlr_scene_surface_from_node(node)->surface;
	/* Our per-view tree carries the view in data; popups live inside their toplevel's tree. */
	for (struct wlr_scene_node *n = node; n != NULL; n = n->parent) {
		if (n->data != NULL && n->type == WLR_SCENE_NODE_TREE) {
			struct weft_view *view;
			wl_list_for_each(view, &server->views, link) {
				if (&view->tree->node == n) {
					return view;
				}
			}
		}
	}
	return NULL;
}

/* ---- listing and closing for Bun --------------------------------------------------------------------- */

int layout_list_windows(struct weft_server *server, char *buffer, size_t buffer_len) {
	if (buffer_len == 0) {
		return -ERANGE;
	}
	size_t used = 0;
	buffer[0] = '\0';
	struct weft_view *view;
	wl_list_for_each(view, &server->views, link) {
		if (!view->mapped) {
			continue;
		}
		char app_id[256], title[512];
		int written = snprintf(buffer + used, buffer_len - used, "%u\t%llu\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\n",
			view->id, (unsigned long long)view_session(view), view_role_name(view),
			event_text(app_id, sizeof(app_id), view->xdg_surface->toplevel->app_id),
			event_text(title, sizeof(title), view->xdg_surface->toplevel->title),
			view->geometry.x, view->geometry.y, view->geometry.width, view->geometry.height,
			server->focused_view == view);
		if (written < 0 || (size_t)written >= buffer_len - used) {
			return -ERANGE;
		}
		used += (size_t)written;
	}
	return (int)used;
}

int layout_close_session(struct weft_server *server, uint64_t session) {
	int asked = 0;
	struct weft_view *view;
	wl_list_for_each(view, &server->views, link) {
		if (!view_is_shell(view) && view_session(view) == session) {
			wlr_xdg_toplevel_send_close(view->xdg_surface);
			asked++;
		}
	}
	return asked;
}

void layout_navigation_gesture(struct weft_server *server, const struct weft_gesture *gesture) {
	event_gesture(server, (uint32_t)gesture->type, gesture->fingers, gesture->dx, gesture->dy);
	wl_signal_emit(&server->events.navigation_gesture, (void *)gesture);
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

/* ---- server-side decorations ---------------------------------------------------------------------------- */

/* Every toplevel is told "server side": the compositor draws no title bar (the shell's panel names the window),
 * and clients such as Chromium then draw none either. */
struct weft_decoration {
	struct wlr_xdg_toplevel_decoration_v1 *decoration;
	struct wl_listener request_mode;
	struct wl_listener destroy;
};

static void decoration_handle_request_mode(struct wl_listener *listener, void *data) {
	struct weft_decoration *decoration = wl_container_of(listener, decoration, request_mode);
	wlr_xdg_toplevel_decoration_v1_set_mode(decoration->decoration, WLR_XDG_TOPLEVEL_DECORATION_V1_MODE_SERVER_SIDE);
}

static void decoration_handle_destroy(struct wl_listener *listener, void *data) {
	struct weft_decoration *decoration = wl_container_of(listener, decoration, destroy);
	wl_list_remove(&decoration->request_mode.link);
	wl_list_remove(&decoration->destroy.link);
	free(decoration);
}

void server_handle_new_toplevel_decoration(struct wl_listener *listener, void *data) {
	struct wlr_xdg_toplevel_decoration_v1 *wlr_decoration = data;
	struct weft_decoration *decoration = calloc(1, sizeof(*decoration));
	if (decoration == NULL) {
		return;
	}
	decoration->decoration = wlr_decoration;
	decoration->request_mode.notify = decoration_handle_request_mode;
	wl_signal_add(&wlr_decoration->events.request_mode, &decoration->request_mode);
	decoration->destroy.notify = decoration_handle_destroy;
	wl_signal_add(&wlr_decoration->events.destroy, &decoration->destroy);
	wlr_xdg_toplevel_decoration_v1_set_mode(wlr_decoration, WLR_XDG_TOPLEVEL_DECORATION_V1_MODE_SERVER_SIDE);
}

bool layout_init(struct weft_server *server) {
	/* Created in stacking order: each new tree goes above the previous ones. */
	struct wlr_scene_node *root = &server->scene->node;
	server->layer_background = wlr_scene_tree_create(root);
	server->layer_shell = wlr_scene_tree_create(root);
	server->layer_apps = wlr_scene_tree_create(root);
	server->layer_panels = wlr_scene_tree_create(root);
	server->layer_overlay = wlr_scene_tree_create(root);
	return server->layer_background && server->layer_shell && server->layer_apps && server->layer_panels &&
		server->layer_overlay;
}
