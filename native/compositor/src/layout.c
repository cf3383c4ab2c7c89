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
#include <wlr/util/edges.h>
#include <wlr/util/log.h>

#include "server.h"


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
void view_place(struct weft_view *view) {
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

void layout_update_visibility(struct weft_server *server) {
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
void layout_focus_after(struct weft_server *server, struct weft_view *gone) {
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
