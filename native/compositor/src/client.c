/*
 * Clients and their roles. Bun asks for a connection per session (weft_compositor_open_client); we make the
 * wl_client ourselves from one end of a socketpair, so the tag below is the client's identity: a socketpair
 * peer's credentials are the compositor's own pid, never the app's (PLATFORM-NOTES).
 */
#include <errno.h>
#include <stdlib.h>
#include <wlr/util/log.h>

#include "server.h"

static void client_handle_destroy(struct wl_listener *listener, void *data) {
	struct weft_client *client = wl_container_of(listener, client, destroy);
	wlr_log(WLR_INFO, "client of session %llu (%s) disconnected", (unsigned long long)client->session_id,
		client->role == WEFT_ROLE_SHELL ? "shell" : "application");
	wl_list_remove(&client->destroy.link);
	wl_list_remove(&client->link);
	free(client);
}

struct weft_client *client_from_wl_client(struct wl_client *wl_client) {
	/* The destroy listener doubles as the tag: finding ours means we created this client. */
	struct wl_listener *listener = wl_client_get_destroy_listener(wl_client, client_handle_destroy);
	if (listener == NULL) {
		return NULL;
	}
	struct weft_client *client = wl_container_of(listener, client, destroy);
	return client;
}

int client_open(struct weft_server *server, int fd, enum weft_role role, uint64_t session_id) {
	struct weft_client *client = calloc(1, sizeof(*client));
	if (client == NULL) {
		return -ENOMEM;
	}
	/* On failure wl_client_create may or may not have closed fd (it depends on the step that failed), so
	 * we leave it rather than risk closing a number another thread reused. Only happens out of memory. */
	client->wl_client = wl_client_create(server->wl_display, fd);
	if (client->wl_client == NULL) {
		free(client);
		return -ENOMEM;
	}
	/* Tagged before we return to the event loop, hence before the client's first request is read: its
	 * wl_registry is filtered by this role from the start. */
	client->server = server;
	client->role = role;
	client->session_id = session_id;
	client->destroy.notify = client_handle_destroy;
	wl_client_add_destroy_listener(client->wl_client, &client->destroy);
	wl_list_insert(&server->clients, &client->link);
	wlr_log(WLR_INFO, "client of session %llu (%s) connected", (unsigned long long)session_id,
		role == WEFT_ROLE_SHELL ? "shell" : "application");
	return 0;
}

void client_add_privileged_global(struct weft_server *server, const struct wl_global *global) {
	if (global != NULL && server->privileged_global_count < WEFT_MAX_PRIVILEGED_GLOBALS) {
		server->privileged_globals[server->privileged_global_count++] = global;
	}
}

static bool global_is_privileged(struct weft_server *server, const struct wl_global *global) {
	for (size_t i = 0; i < server->privileged_global_count; i++) {
		if (server->privileged_globals[i] == global) {
			return true;
		}
	}
	return false;
}

/*
 * libwayland asks this for every global a client's wl_registry would announce, and again on wl_registry.bind:
 * a hidden global cannot be bound by guessing its name either. Untagged clients (none today: there is no
 * listening socket) are treated as applications.
 */
static bool client_global_filter(const struct wl_client *wl_client, const struct wl_global *global, void *data) {
	struct weft_server *server = data;
	if (!global_is_privileged(server, global)) {
		return true;
	}
	struct weft_client *client = client_from_wl_client((struct wl_client *)wl_client);
	return client != NULL && client->role == WEFT_ROLE_SHELL;
}

void client_install_global_filter(struct weft_server *server) {
	wl_display_set_global_filter(server->wl_display, client_global_filter, server);
}
