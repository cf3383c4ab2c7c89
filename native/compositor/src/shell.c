/*
 * zweft_shell_unstable_v1 (protocol/weft-shell-unstable-v1.xml): the system shell's own windows.
 *
 *   zweft_shell_manager_v1 ──create_window──▶ zweft_shell_window_v1 ── live ──▶ defunct ──destroy──▶ gone
 *   (privileged global:                         on screen at its          window_closed sent once;
 *    shell-role clients only)                   (clamped) geometry,        off screen, reserves nothing,
 *                                               panel strips reserve       every request but destroy is
 *                                               an output edge             a defunct_window error
 *
 * A window becomes defunct when its surface is destroyed or its manager is destroyed. The window's
 * surface (optional) gets our surface role for life, so no other role (xdg, layer, subsurface) can claim it
 * and it cannot back two windows; surfaces belong to the client, so a client can only ever use its own.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <wlr/util/log.h>

#include "server.h"
#include "weft-shell-unstable-v1-protocol.h"

#define SHELL_MANAGER_VERSION 2

enum shell_window_role {
	SHELL_WINDOW_NORMAL,
	SHELL_WINDOW_DIALOG,
	SHELL_WINDOW_PANEL,
	SHELL_WINDOW_OVERLAY,
};

static const char *const shell_window_role_names[] = {
	[SHELL_WINDOW_NORMAL] = "normal",
	[SHELL_WINDOW_DIALOG] = "dialog",
	[SHELL_WINDOW_PANEL] = "panel",
	[SHELL_WINDOW_OVERLAY] = "overlay",
};

struct weft_shell {
	struct weft_server *server;
	struct wl_global *global;
	struct wl_list windows; /* weft_shell_window.link: every window object, live or defunct */
	bool updating;          /* inside shell_update_all: a reservation change re-enters through layout_changed */
	struct wl_listener focus_changed;
	struct wl_listener keyboard_focus_change;
	struct wl_listener layout_changed;
	struct wl_listener navigation_gesture;
};

struct weft_shell_manager {
	struct weft_shell *shell;
	struct wl_resource *resource;
	struct wl_list windows; /* weft_shell_window.manager_link: its windows that are still live */
};

struct weft_shell_window {
	struct weft_shell *shell;
	struct wl_resource *resource;
	struct weft_shell_manager *manager; /* NULL once defunct */
	bool defunct;

	/* Who made it. Copied: the weft_client goes away before the client's resources do. */
	enum weft_role client_role;
	uint64_t session_id;

	char *app_id, *title;
	enum shell_window_role role;

	struct wlr_surface *surface;   /* NULL: none, or defunct */
	struct wlr_scene_tree *tree;   /* shows the surface (and its subsurfaces); NULL without a surface */
	struct wl_listener surface_destroy;
	struct wl_listener surface_commit;

	struct wlr_box requested;      /* what the client asked for */
	struct wlr_box geometry;       /* what we use: requested clamped into the first output */
	uint32_t state;                /* ZWEFT_SHELL_WINDOW_V1_STATE_* last sent */
	bool configured;               /* a configure was sent */
	int focused;                   /* last focus_changed value, -1 before the first */

	struct weft_reservation reservation;
	bool reserving;                /* reservation is in server->reservations */

	/* Presentation feedback: a commit is waiting for the first frame presented after it. */
	struct wlr_output *feedback_output;
	uint32_t feedback_after_seq;   /* the output's commit_seq when the oldest unreported commit came */
	uint32_t feedback_latest_seq;  /* the output's commit_seq at the newest unreported commit */
	struct wl_listener output_present;
	struct wl_listener output_destroy;

	struct wl_list link;           /* weft_shell.windows */
	struct wl_list manager_link;   /* weft_shell_manager.windows while live */
};

/* Our wl_surface role: holding it keeps xdg-shell, layer-shell and subsurfaces off the surface. */
/* wlroots 0.15 has no wlr_box_equal. */
static bool box_equal(const struct wlr_box *a, const struct wlr_box *b) {
	return a->x == b->x && a->y == b->y && a->width == b->width && a->height == b->height;
}

static const struct wlr_surface_role shell_window_surface_role = {
	.name = "zweft_shell_window_v1",
};

static const struct zweft_shell_window_v1_interface window_impl;
static const struct zweft_shell_manager_v1_interface manager_impl;

static bool role_from_name(const char *name, enum shell_window_role *role) {
	for (size_t i = 0; i < sizeof(shell_window_role_names) / sizeof(shell_window_role_names[0]); i++) {
		if (strcmp(name, shell_window_role_names[i]) == 0) {
			*role = (enum shell_window_role)i;
			return true;
		}
	}
	return false;
}

static struct wlr_scene_tree *role_layer(struct weft_server *server, enum shell_window_role role) {
	switch (role) {
	case SHELL_WINDOW_PANEL:
		return server->layer_panels;
	case SHELL_WINDOW_OVERLAY:
		return server->layer_overlay;
	case SHELL_WINDOW_NORMAL:
	case SHELL_WINDOW_DIALOG:
		break;
	}
	return server->layer_shell;
}

/* ---- geometry, state, focus ------------------------------------------------------------------------ */

/* The box moved and shrunk (never grown) until it lies inside output. */
static struct wlr_box clamp_into(const struct wlr_box *box, const struct wlr_box *output) {
	struct wlr_box out = *box;
	out.width = box->width < output->width ? box->width : output->width;
	out.height = box->height < output->height ? box->height : output->height;
	/* 64-bit: x + width of a hostile request may not fit an int. */
	int64_t x = box->x, y = box->y;
	if (x + out.width > (int64_t)output->x + output->width) {
		x = (int64_t)output->x + output->width - out.width;
	}
	if (x < output->x) {
		x = output->x;
	}
	if (y + out.height > (int64_t)output->y + output->height) {
		y = (int64_t)output->y + output->height - out.height;
	}
	if (y < output->y) {
		y = output->y;
	}
	out.x = (int)x;
	out.y = (int)y;
	return out;
}

/* A strip along one whole edge of the output, thinner than the output: what a panel may reserve. */
static bool is_edge_strip(const struct wlr_box *box, const struct wlr_box *output) {
	bool full_width = box->x == output->x && box->width == output->width;
	bool full_height = box->y == output->y && box->height == output->height;
	if (full_width && !full_height) {
		return box->y == output->y || box->y + box->height == output->y + output->height;
	}
	if (full_height && !full_width) {
		return box->x == output->x || box->x + box->width == output->x + output->width;
	}
	return false;
}

static bool window_has_focus(struct weft_shell_window *window, struct wlr_surface *focused) {
	if (window->defunct || focused == NULL) {
		return false;
	}
	if (window->surface != NULL) {
		return focused == window->surface;
	}
	/* No surface of its own: "does my session have the keyboard" (the shell's panel: shell vs app). */
	struct weft_client *client = client_from_wl_client(wl_resource_get_client(focused->resource));
	return client != NULL && client->session_id == window->session_id && client->role == window->client_role;
}

/* Adds, moves or drops the window's reservation; returns whether server->reservations changed. */
static bool window_update_reservation(struct weft_shell_window *window, const struct wlr_box *output) {
	bool reserve = !window->defunct && window->role == SHELL_WINDOW_PANEL && output != NULL &&
		is_edge_strip(&window->geometry, output);
	if (reserve && window->reserving && box_equal(&window->reservation.box, &window->geometry)) {
		return false;
	}
	if (!reserve && !window->reserving) {
		return false;
	}
	if (window->reserving) {
		wl_list_remove(&window->reservation.link);
		window->reserving = false;
	}
	if (reserve) {
		window->reservation.box = window->geometry;
		wl_list_insert(&window->shell->server->reservations, &window->reservation.link);
		window->reserving = true;
	}
	return true;
}

/*
 * Recomputes the window's geometry and state; sends configure when they changed (or force: set_geometry
 * always gets an answer) and focus_changed when the focus value changed. Returns whether the window's
 * reservation changed (the caller then re-arranges the layout once).
 */
static bool window_update(struct weft_shell_window *window, bool force_configure) {
	if (window->defunct) {
		return false;
	}
	struct weft_server *server = window->shell->server;
	struct wlr_box output;
	bool have_output = output_first_box(server, &output);
	struct wlr_box geometry = have_output ? clamp_into(&window->requested, &output) : window->requested;

	struct wlr_surface *focused = server->seat->keyboard_state.focused_surface;
	bool focus = window_has_focus(window, focused);
	uint32_t state = 0;
	if (have_output && box_equal(&geometry, &output)) {
		state |= ZWEFT_SHELL_WINDOW_V1_STATE_MAXIMIZED;
	}
	if (focus) {
		state |= ZWEFT_SHELL_WINDOW_V1_STATE_ACTIVATED;
	}

	bool changed = !window->configured || !box_equal(&geometry, &window->geometry) || state != window->state;
	window->geometry = geometry;
	window->state = state;
	if (window->tree != NULL) {
		wlr_scene_node_set_position(&window->tree->node, geometry.x, geometry.y);
	}
	if (changed || force_configure) {
		window->configured = true;
		zweft_shell_window_v1_send_configure(window->resource, geometry.x, geometry.y, geometry.width,
			geometry.height, state);
	}
	if (window->focused != (int)focus) {
		window->focused = focus;
		zweft_shell_window_v1_send_focus_changed(window->resource, focus ? 1 : 0);
	}
	return window_update_reservation(window, have_output ? &output : NULL);
}

/* Every window again (focus moved, output resized); one re-arrangement if a reservation changed. */
static void shell_update_all(struct weft_shell *shell) {
	if (shell->updating || shell->server->stopping) {
		return;
	}
	shell->updating = true;
	bool reservations_changed = false;
	struct weft_shell_window *window;
	wl_list_for_each(window, &shell->windows, link) {
		reservations_changed |= window_update(window, false);
	}
	shell->updating = false;
	if (reservations_changed) {
		/* Emits layout_changed, which brings us back here: nothing changes the second time. */
		layout_reservations_changed(shell->server);
	}
}

static void window_update_one(struct weft_shell_window *window, bool force_configure) {
	if (window_update(window, force_configure)) {
		layout_reservations_changed(window->shell->server);
	}
}

/* ---- presentation feedback ------------------------------------------------------------------------- */

static void window_stop_feedback(struct weft_shell_window *window) {
	if (window->feedback_output != NULL) {
		wl_list_remove(&window->output_present.link);
		wl_list_remove(&window->output_destroy.link);
		window->feedback_output = NULL;
	}
}

static void window_handle_output_present(struct wl_listener *listener, void *data) {
	struct weft_shell_window *window = wl_container_of(listener, window, output_present);
	struct wlr_output_event_present *event = data;
	/* Frames submitted before the commit do not carry it; a frame that was not presented shows nothing.
	 * Signed difference: commit_seq wraps. */
	if (!event->presented || event->when == NULL || (int32_t)(event->commit_seq - window->feedback_after_seq) <= 0) {
		return;
	}
	struct wlr_output *output = window->feedback_output;
	uint32_t refresh_ns = 0;
	if (event->refresh > 0) {
		refresh_ns = (uint32_t)event->refresh;
	} else if (output->refresh > 0) {
		refresh_ns = (uint32_t)(1000000000000LL / output->refresh); /* refresh is in mHz */
	}
	zweft_shell_window_v1_send_presentation_feedback(window->resource, (uint32_t)event->when->tv_sec,
		(uint32_t)event->when->tv_nsec, refresh_ns);
	if ((int32_t)(window->feedback_latest_seq - event->commit_seq) >= 0) {
		/* A later commit came after this frame was submitted: it waits for the next one. */
		window->feedback_after_seq = window->feedback_latest_seq;
		return;
	}
	window_stop_feedback(window);
}

static void window_handle_output_destroy(struct wl_listener *listener, void *data) {
	struct weft_shell_window *window = wl_container_of(listener, window, output_destroy);
	window_stop_feedback(window); /* never presented there; the next commit picks the new first output */
}

static void window_handle_surface_commit(struct wl_listener *listener, void *data) {
	struct weft_shell_window *window = wl_container_of(listener, window, surface_commit);
	struct weft_output *first;
	if (window->defunct || window->shell->server->stopping) {
		return;
	}
	if (window->feedback_output != NULL) {
		window->feedback_latest_seq = window->feedback_output->commit_seq;
		return;
	}
	/* Shell windows are drawn on the first output (the layout's only one today). */
	wl_list_for_each(first, &window->shell->server->outputs, link) {
		struct wlr_output *output = first->wlr_output;
		window->feedback_output = output;
		window->feedback_after_seq = output->commit_seq;
		window->feedback_latest_seq = output->commit_seq;
		window->output_present.notify = window_handle_output_present;
		wl_signal_add(&output->events.present, &window->output_present);
		window->output_destroy.notify = window_handle_output_destroy;
		wl_signal_add(&output->events.destroy, &window->output_destroy);
		break;
	}
}

/* ---- window life ------------------------------------------------------------------------------------ */

/* Lets go of the surface: off screen, no listeners; the surface keeps our role and may back a new window. */
static void window_release_surface(struct weft_shell_window *window) {
	window_stop_feedback(window);
	if (window->tree != NULL) {
		wlr_scene_node_destroy(&window->tree->node);
		window->tree = NULL;
	}
	if (window->surface != NULL) {
		wl_list_remove(&window->surface_destroy.link);
		wl_list_remove(&window->surface_commit.link);
		window->surface->role_data = NULL;
		window->surface = NULL;
	}
}

/* Live → defunct: off screen, no reservation, window_closed once (unless the object is being destroyed). */
static void window_make_defunct(struct weft_shell_window *window, bool send_closed) {
	if (window->defunct) {
		return;
	}
	window->defunct = true;
	window_release_surface(window);
	if (window->manager != NULL) {
		wl_list_remove(&window->manager_link);
		window->manager = NULL;
	}
	bool reservations_changed = window_update_reservation(window, NULL);
	if (send_closed) {
		zweft_shell_window_v1_send_window_closed(window->resource);
	}
	if (reservations_changed) {
		layout_reservations_changed(window->shell->server);
	}
}

static void window_handle_surface_destroy(struct wl_listener *listener, void *data) {
	struct weft_shell_window *window = wl_container_of(listener, window, surface_destroy);
	/* The slot dies with its surface; the scene node went with the surface already or goes now. */
	window_make_defunct(window, true);
}

static void window_handle_resource_destroy(struct wl_resource *resource) {
	struct weft_shell_window *window = wl_resource_get_user_data(resource);
	window_make_defunct(window, false);
	wl_list_remove(&window->link);
	free(window->app_id);
	free(window->title);
	free(window);
}

/* A request on a defunct window: the protocol error the client earned. */
static struct weft_shell_window *window_from_live_resource(struct wl_resource *resource) {
	struct weft_shell_window *window = wl_resource_get_user_data(resource);
	if (window->defunct) {
		wl_resource_post_error(resource, ZWEFT_SHELL_WINDOW_V1_ERROR_DEFUNCT_WINDOW,
			"zweft_shell_window_v1@%u received window_closed: only destroy is allowed now",
			wl_resource_get_id(resource));
		return NULL;
	}
	return window;
}

static void window_request_destroy(struct wl_client *client, struct wl_resource *resource) {
	wl_resource_destroy(resource);
}

static void window_set_role(struct weft_shell_window *window, enum shell_window_role role) {
	window->role = role;
	if (window->tree != NULL) {
		wlr_scene_node_reparent(&window->tree->node, &role_layer(window->shell->server, role)->node);
		wlr_scene_node_raise_to_top(&window->tree->node);
	}
}

static void window_request_update_metadata(struct wl_client *client, struct wl_resource *resource,
		const char *title, const char *role_name) {
	struct weft_shell_window *window = window_from_live_resource(resource);
	if (window == NULL) {
		return;
	}
	enum shell_window_role role;
	if (!role_from_name(role_name, &role)) {
		wl_resource_post_error(resource, ZWEFT_SHELL_WINDOW_V1_ERROR_INVALID_ROLE,
			"role \"%s\" is unknown: use normal, dialog, panel or overlay", role_name);
		return;
	}
	char *copy = strdup(title);
	if (copy == NULL) {
		wl_client_post_no_memory(client);
		return;
	}
	free(window->title);
	window->title = copy;
	if (role != window->role) {
		window_set_role(window, role);
		window_update_one(window, false); /* a panel strip reserves, a former one stops reserving */
	}
}

static void window_request_set_geometry(struct wl_client *client, struct wl_resource *resource,
		int32_t x, int32_t y, int32_t width, int32_t height) {
	struct weft_shell_window *window = window_from_live_resource(resource);
	if (window == NULL) {
		return;
	}
	if (width <= 0 || height <= 0) {
		wl_resource_post_error(resource, ZWEFT_SHELL_WINDOW_V1_ERROR_INVALID_GEOMETRY,
			"set_geometry %dx%d: width and height must be at least 1", width, height);
		return;
	}
	window->requested = (struct wlr_box){ .x = x, .y = y, .width = width, .height = height };
	window_update_one(window, true);
}

static const struct zweft_shell_window_v1_interface window_impl = {
	.destroy = window_request_destroy,
	.update_metadata = window_request_update_metadata,
	.set_geometry = window_request_set_geometry,
};

/* ---- the manager ------------------------------------------------------------------------------------ */

static void manager_handle_resource_destroy(struct wl_resource *resource) {
	struct weft_shell_manager *manager = wl_resource_get_user_data(resource);
	/* Its windows end with it: window_closed, off screen; the client still owns (and must destroy) them. */
	struct weft_shell_window *window, *tmp;
	wl_list_for_each_safe(window, tmp, &manager->windows, manager_link) {
		window_make_defunct(window, true);
	}
	free(manager);
}

static void manager_request_destroy(struct wl_client *client, struct wl_resource *resource) {
	wl_resource_destroy(resource);
}

static void manager_request_create_window(struct wl_client *client, struct wl_resource *manager_resource,
		uint32_t id, const char *app_id, const char *title, const char *role_name,
		struct wl_resource *surface_resource, int32_t x, int32_t y, int32_t width, int32_t height) {
	struct weft_shell_manager *manager = wl_resource_get_user_data(manager_resource);
	struct weft_shell *shell = manager->shell;

	enum shell_window_role role;
	if (!role_from_name(role_name, &role)) {
		wl_resource_post_error(manager_resource, ZWEFT_SHELL_MANAGER_V1_ERROR_INVALID_ROLE,
			"role \"%s\" is unknown: use normal, dialog, panel or overlay", role_name);
		return;
	}
	if (width <= 0 || height <= 0) {
		wl_resource_post_error(manager_resource, ZWEFT_SHELL_MANAGER_V1_ERROR_INVALID_GEOMETRY,
			"create_window %dx%d: width and height must be at least 1", width, height);
		return;
	}
	struct wlr_surface *surface = surface_resource ? wlr_surface_from_resource(surface_resource) : NULL;
	if (surface != NULL && surface->role != NULL && surface->role != &shell_window_surface_role) {
		wl_resource_post_error(manager_resource, ZWEFT_SHELL_MANAGER_V1_ERROR_ROLE,
			"wl_surface@%u already has the role %s: create a new wl_surface for the window",
			wl_resource_get_id(surface_resource), surface->role->name);
		return;
	}
	if (surface != NULL && surface->role_data != NULL) {
		wl_resource_post_error(manager_resource, ZWEFT_SHELL_MANAGER_V1_ERROR_SURFACE_IN_USE,
			"wl_surface@%u already backs a live window: destroy that window first",
			wl_resource_get_id(surface_resource));
		return;
	}

	struct weft_shell_window *window = calloc(1, sizeof(*window));
	if (window == NULL) {
		wl_client_post_no_memory(client);
		return;
	}
	window->app_id = strdup(app_id);
	window->title = strdup(title);
	window->resource = wl_resource_create(client, &zweft_shell_window_v1_interface,
		wl_resource_get_version(manager_resource), id);
	if (window->app_id == NULL || window->title == NULL || window->resource == NULL) {
		free(window->app_id);
		free(window->title);
		free(window);
		wl_client_post_no_memory(client);
		return;
	}
	window->shell = shell;
	window->manager = manager;
	window->role = role;
	window->focused = -1;
	struct weft_client *owner = client_from_wl_client(client);
	window->client_role = owner != NULL ? owner->role : WEFT_ROLE_APPLICATION;
	window->session_id = owner != NULL ? owner->session_id : 0;
	window->requested = (struct wlr_box){ .x = x, .y = y, .width = width, .height = height };
	wl_list_init(&window->reservation.link);
	wl_resource_set_implementation(window->resource, &window_impl, window, window_handle_resource_destroy);
	wl_list_insert(shell->windows.prev, &window->link);
	wl_list_insert(&manager->windows, &window->manager_link);

	if (surface != NULL) {
		window->tree = wlr_scene_tree_create(&role_layer(shell->server, role)->node);
		if (window->tree == NULL || wlr_scene_subsurface_tree_create(&window->tree->node, surface) == NULL) {
			wl_client_post_no_memory(client);
			return; /* the resource is destroyed with the client; its destroy handler cleans up */
		}
		/* Checked above, so this cannot fail; it makes the surface ours for life. */
		wlr_surface_set_role(surface, &shell_window_surface_role, window, manager_resource,
			ZWEFT_SHELL_MANAGER_V1_ERROR_ROLE);
		window->surface = surface;
		window->surface_destroy.notify = window_handle_surface_destroy;
		wl_signal_add(&surface->events.destroy, &window->surface_destroy);
		window->surface_commit.notify = window_handle_surface_commit;
		wl_signal_add(&surface->events.commit, &window->surface_commit);
	}
	wlr_log(WLR_INFO, "shell window %s (%s): role %s, %dx%d at %d,%d, %s surface", app_id, title, role_name, width,
		height, x, y, surface ? "with" : "without");
	window_update_one(window, true);
}

static const struct zweft_shell_manager_v1_interface manager_impl = {
	.destroy = manager_request_destroy,
	.create_window = manager_request_create_window,
};

static void shell_bind(struct wl_client *client, void *data, uint32_t version, uint32_t id) {
	struct weft_shell *shell = data;
	/* The global filter already hides us from application clients, on the registry and on bind. */
	struct weft_shell_manager *manager = calloc(1, sizeof(*manager));
	if (manager == NULL) {
		wl_client_post_no_memory(client);
		return;
	}
	manager->resource = wl_resource_create(client, &zweft_shell_manager_v1_interface, (int)version, id);
	if (manager->resource == NULL) {
		free(manager);
		wl_client_post_no_memory(client);
		return;
	}
	manager->shell = shell;
	wl_list_init(&manager->windows);
	wl_resource_set_implementation(manager->resource, &manager_impl, manager, manager_handle_resource_destroy);
}

/* ---- compositor events ------------------------------------------------------------------------------- */

static void shell_handle_focus_changed(struct wl_listener *listener, void *data) {
	struct weft_shell *shell = wl_container_of(listener, shell, focus_changed);
	shell_update_all(shell);
}

static void shell_handle_keyboard_focus_change(struct wl_listener *listener, void *data) {
	/* Also catches focus moves the layout does not announce (a focused surface destroyed, …). */
	struct weft_shell *shell = wl_container_of(listener, shell, keyboard_focus_change);
	shell_update_all(shell);
}

static void shell_handle_layout_changed(struct wl_listener *listener, void *data) {
	struct weft_shell *shell = wl_container_of(listener, shell, layout_changed);
	shell_update_all(shell);
}

static void shell_handle_navigation_gesture(struct wl_listener *listener, void *data) {
	struct weft_shell *shell = wl_container_of(listener, shell, navigation_gesture);
	const struct weft_gesture *gesture = data;
	struct weft_shell_window *window;
	wl_list_for_each(window, &shell->windows, link) {
		if (!window->defunct && wl_resource_get_version(window->resource) >=
				ZWEFT_SHELL_WINDOW_V1_NAVIGATION_GESTURE_SINCE_VERSION) {
			zweft_shell_window_v1_send_navigation_gesture(window->resource, (uint32_t)gesture->type,
				gesture->fingers, wl_fixed_from_double(gesture->dx), wl_fixed_from_double(gesture->dy));
		}
	}
}

bool shell_init(struct weft_server *server) {
	struct weft_shell *shell = calloc(1, sizeof(*shell));
	if (shell == NULL) {
		return false;
	}
	shell->server = server;
	wl_list_init(&shell->windows);
	shell->global = wl_global_create(server->wl_display, &zweft_shell_manager_v1_interface, SHELL_MANAGER_VERSION,
		shell, shell_bind);
	if (shell->global == NULL) {
		free(shell);
		return false;
	}
	client_add_privileged_global(server, shell->global);
	shell->focus_changed.notify = shell_handle_focus_changed;
	wl_signal_add(&server->events.focus_changed, &shell->focus_changed);
	shell->keyboard_focus_change.notify = shell_handle_keyboard_focus_change;
	wl_signal_add(&server->seat->keyboard_state.events.focus_change, &shell->keyboard_focus_change);
	shell->layout_changed.notify = shell_handle_layout_changed;
	wl_signal_add(&server->events.layout_changed, &shell->layout_changed);
	shell->navigation_gesture.notify = shell_handle_navigation_gesture;
	wl_signal_add(&server->events.navigation_gesture, &shell->navigation_gesture);
	server->shell = shell;
	return true;
}

void shell_finish(struct weft_server *server) {
	struct weft_shell *shell = server->shell;
	if (shell == NULL) {
		return;
	}
	/* Clients are gone (server_destroy disconnects them first), so are their windows. */
	if (!wl_list_empty(&shell->windows)) {
		wlr_log(WLR_ERROR, "zweft shell: %d windows outlived their clients", wl_list_length(&shell->windows));
	}
	wl_list_remove(&shell->focus_changed.link);
	wl_list_remove(&shell->keyboard_focus_change.link);
	wl_list_remove(&shell->layout_changed.link);
	wl_list_remove(&shell->navigation_gesture.link);
	wl_global_destroy(shell->global);
	free(shell);
	server->shell = NULL;
}
