/*
 * The clipboard: the seat's selection (wl_data_device) and primary selection (zwp_primary_selection_v1),
 * between clients and for Bun (Compositor1.ClipboardGet/ClipboardSet).
 *
 * Between clients wlroots does the protocol work. A client asks to own the selection with the serial of an
 * input event it received; wlroots 0.15 refuses a serial that was never given to that client, or one older
 * than the current selection's (wlr_seat_request_set_selection), and only then asks us. We accept every request
 * that reaches us: the serial already proves a recent input event (a key press, a click, keyboard focus) went to
 * that client. wlroots offers the selection only to the client with keyboard focus (on focus and whenever the
 * selection changes), so only the focused client can paste; a client in the background cannot read it.
 *
 * Bun reads the selection through a pipe: we pick the mime type, make a pipe, ask the owner to write into it
 * (wlr_data_source_send) and hand the read end to Bun, which reads it with a size limit and a timeout (a hostile
 * owner may never write, or never close). The compositor thread never reads or waits on it.
 *
 * Bun sets the selection with a source we own (struct weft_clip_source): a copy of the bytes, offered as the
 * text mime types (or as the one mime type Bun named). A paste asks it to write into the paster's fd; that
 * write is non-blocking, driven by the event loop, so a reader that never reads stalls nothing. A transfer ends
 * when all bytes are written, on a write error, after CLIP_IDLE_MS without progress, or when the source is
 * replaced or destroyed.
 *
 * Text. Asked for any of the text mime types (text/plain;charset=utf-8, text/plain, UTF8_STRING, TEXT, STRING,
 * compared without case or spaces), we first look for exactly what was asked, then fall back through that
 * list in that order. Bytes are passed through unchanged: in practice every client writes UTF-8 under all of
 * them.
 */
#define _GNU_SOURCE /* F_SETPIPE_SZ, pipe2 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <wlr/backend/headless.h>
#include <wlr/types/wlr_primary_selection.h>
#include <wlr/types/wlr_primary_selection_v1.h>
#include <wlr/util/log.h>

#include "server.h"

#define CLIP_IDLE_MS 30000      /* a transfer making no progress this long is closed */
#define CLIP_MAX_TRANSFERS 16   /* per source: pastes in flight at once; more are refused (fd closed) */
#define CLIP_PIPE_BYTES (1 << 20) /* Bun's read pipe: fewer wake-ups for large selections */
#define CLIP_WRITE_CHUNK 65536

static const char *const clip_text_types[] = {
	"text/plain;charset=utf-8", "text/plain", "UTF8_STRING", "TEXT", "STRING",
};
#define CLIP_TEXT_TYPE_COUNT (sizeof(clip_text_types) / sizeof(clip_text_types[0]))

/* ---- mime types ---------------------------------------------------------------------------------- */

/* Compares two mime types without case and ignoring spaces ("text/plain; charset=UTF-8" is ours). */
static bool mime_equal_loose(const char *a, const char *b) {
	for (;;) {
		while (*a == ' ') {
			a++;
		}
		while (*b == ' ') {
			b++;
		}
		if (*a == '\0' || *b == '\0') {
			return *a == *b;
		}
		if (tolower((unsigned char)*a) != tolower((unsigned char)*b)) {
			return false;
		}
		a++;
		b++;
	}
}

static bool mime_is_text(const char *mime) {
	for (size_t i = 0; i < CLIP_TEXT_TYPE_COUNT; i++) {
		if (mime_equal_loose(mime, clip_text_types[i])) {
			return true;
		}
	}
	return false;
}

/* Printable ASCII, 1..WEFT_CLIPBOARD_MIME_MAX bytes: what a mime type (or an X11 target name) can be. */
static bool mime_valid(const char *mime) {
	size_t length = 0;
	for (const char *c = mime; *c != '\0'; c++, length++) {
		if (*c < 0x20 || *c > 0x7e || length >= WEFT_CLIPBOARD_MIME_MAX) {
			return false;
		}
	}
	return length > 0;
}

/* The offered type to ask for: exactly `wanted`, else for text the first offered of the text types. */
static const char *mime_pick(struct wl_array *offered, const char *wanted) {
	char **type;
	wl_array_for_each(type, offered) {
		if (strcmp(*type, wanted) == 0) {
			return *type;
		}
	}
	if (!mime_is_text(wanted)) {
		return NULL;
	}
	for (size_t i = 0; i < CLIP_TEXT_TYPE_COUNT; i++) {
		wl_array_for_each(type, offered) {
			if (mime_equal_loose(*type, clip_text_types[i])) {
				return *type;
			}
		}
	}
	return NULL;
}

static bool mime_list_add(struct wl_array *types, const char *mime) {
	char **slot = wl_array_add(types, sizeof(*slot));
	if (slot == NULL) {
		return false;
	}
	*slot = strdup(mime);
	if (*slot == NULL) {
		types->size -= sizeof(*slot);
		return false;
	}
	return true;
}

/* ---- the compositor's own source ------------------------------------------------------------------ */

struct weft_clip_source;

/* One paste being served: our bytes going into a client's fd. */
struct weft_clip_transfer {
	struct weft_clip_source *source;
	int fd;
	size_t offset;
	struct wl_event_source *writable;
	struct wl_event_source *idle_timer;
	struct wl_list link; /* weft_clip_source.transfers */
};

/* Bytes Bun copied, as either the selection or the primary selection (one of the two wlroots sources). */
struct weft_clip_source {
	struct weft_server *server;
	bool primary;
	struct wlr_data_source data;                 /* when !primary */
	struct wlr_primary_selection_source primary_source; /* when primary */
	uint8_t *bytes;
	size_t length;
	struct wl_list transfers; /* weft_clip_transfer.link */
	size_t transfer_count;
};

static void transfer_end(struct weft_clip_transfer *transfer) {
	wl_event_source_remove(transfer->writable);
	wl_event_source_remove(transfer->idle_timer);
	close(transfer->fd);
	wl_list_remove(&transfer->link);
	transfer->source->transfer_count--;
	free(transfer);
}

static int transfer_handle_writable(int fd, uint32_t mask, void *data) {
	struct weft_clip_transfer *transfer = data;
	struct weft_clip_source *source = transfer->source;
	while (transfer->offset < source->length) {
		size_t chunk = source->length - transfer->offset;
		if (chunk > CLIP_WRITE_CHUNK) {
			chunk = CLIP_WRITE_CHUNK;
		}
		/* SIGPIPE is blocked on this thread: a reader that went away gives EPIPE here. */
		ssize_t written = write(fd, source->bytes + transfer->offset, chunk);
		if (written < 0 && errno == EINTR) {
			continue;
		}
		if (written < 0 && errno == EAGAIN) {
			wl_event_source_timer_update(transfer->idle_timer, CLIP_IDLE_MS);
			return 0; /* the pipe is full: wait until the reader makes room */
		}
		if (written <= 0) {
			wlr_log(WLR_DEBUG, "clipboard: a paste's reader went away after %zu of %zu bytes",
				transfer->offset, source->length);
			transfer_end(transfer);
			return 0;
		}
		transfer->offset += (size_t)written;
	}
	transfer_end(transfer); /* all written: closing the fd is the reader's end of file */
	return 0;
}

static int transfer_handle_idle(void *data) {
	struct weft_clip_transfer *transfer = data;
	wlr_log(WLR_INFO, "clipboard: a paste made no progress for %d ms: closing it", CLIP_IDLE_MS);
	transfer_end(transfer);
	return 0;
}

static void clip_source_send(struct weft_clip_source *source, int fd) {
	if (source->transfer_count >= CLIP_MAX_TRANSFERS) {
		wlr_log(WLR_ERROR, "clipboard: %d pastes already in flight: refusing another", CLIP_MAX_TRANSFERS);
		close(fd);
		return;
	}
	struct weft_clip_transfer *transfer = calloc(1, sizeof(*transfer));
	if (transfer == NULL || fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) {
		free(transfer);
		close(fd);
		return;
	}
	struct wl_event_loop *loop = wl_display_get_event_loop(source->server->wl_display);
	transfer->source = source;
	transfer->fd = fd;
	transfer->writable = wl_event_loop_add_fd(loop, fd, WL_EVENT_WRITABLE, transfer_handle_writable, transfer);
	transfer->idle_timer = wl_event_loop_add_timer(loop, transfer_handle_idle, transfer);
	if (transfer->writable == NULL || transfer->idle_timer == NULL) {
		if (transfer->writable != NULL) {
			wl_event_source_remove(transfer->writable);
		}
		if (transfer->idle_timer != NULL) {
			wl_event_source_remove(transfer->idle_timer);
		}
		free(transfer);
		close(fd);
		return;
	}
	wl_event_source_timer_update(transfer->idle_timer, CLIP_IDLE_MS);
	wl_list_insert(&source->transfers, &transfer->link);
	source->transfer_count++;
}

/* wlroots destroys a source when it is replaced as the selection, or with the seat. */
static void clip_source_free(struct weft_clip_source *source) {
	struct weft_clip_transfer *transfer, *tmp;
	wl_list_for_each_safe(transfer, tmp, &source->transfers, link) {
		transfer_end(transfer);
	}
	free(source->bytes);
	free(source);
}

static void data_source_send(struct wlr_data_source *wlr_source, const char *mime_type, int32_t fd) {
	struct weft_clip_source *source = wl_container_of(wlr_source, source, data);
	clip_source_send(source, fd);
}

static void data_source_destroy(struct wlr_data_source *wlr_source) {
	struct weft_clip_source *source = wl_container_of(wlr_source, source, data);
	clip_source_free(source);
}

static const struct wlr_data_source_impl data_source_impl = {
	.send = data_source_send,
	.destroy = data_source_destroy,
};

static void primary_source_send(struct wlr_primary_selection_source *wlr_source, const char *mime_type, int fd) {
	struct weft_clip_source *source = wl_container_of(wlr_source, source, primary_source);
	clip_source_send(source, fd);
}

static void primary_source_destroy(struct wlr_primary_selection_source *wlr_source) {
	struct weft_clip_source *source = wl_container_of(wlr_source, source, primary_source);
	clip_source_free(source);
}

static const struct wlr_primary_selection_source_impl primary_source_impl = {
	.send = primary_source_send,
	.destroy = primary_source_destroy,
};

/* ---- requests from clients ------------------------------------------------------------------------ */

static void clipboard_handle_request_set_selection(struct wl_listener *listener, void *data) {
	struct weft_server *server = wl_container_of(listener, server, request_set_selection);
	struct wlr_seat_request_set_selection_event *event = data;
	/* wlroots already refused serials this client never received or that are superseded. */
	wlr_seat_set_selection(server->seat, event->source, event->serial);
}

static void clipboard_handle_request_set_primary_selection(struct wl_listener *listener, void *data) {
	struct weft_server *server = wl_container_of(listener, server, request_set_primary_selection);
	struct wlr_seat_request_set_primary_selection_event *event = data;
	wlr_seat_set_primary_selection(server->seat, event->source, event->serial);
}

bool clipboard_init(struct weft_server *server) {
	server->primary_selection = wlr_primary_selection_v1_device_manager_create(server->wl_display);
	if (server->primary_selection == NULL) {
		return false;
	}
	server->request_set_selection.notify = clipboard_handle_request_set_selection;
	wl_signal_add(&server->seat->events.request_set_selection, &server->request_set_selection);
	server->request_set_primary_selection.notify = clipboard_handle_request_set_primary_selection;
	wl_signal_add(&server->seat->events.request_set_primary_selection, &server->request_set_primary_selection);
	/* Focus (and with it copy and paste) needs a keyboard on the seat: input.c gives the headless seat one. */
	return true;
}

void clipboard_finish(struct weft_server *server) {
	if (server->primary_selection == NULL) {
		return;
	}
	/* Our sources (and their transfers' event sources) go now, while the event loop still exists. */
	wlr_seat_set_selection(server->seat, NULL, wl_display_next_serial(server->wl_display));
	wlr_seat_set_primary_selection(server->seat, NULL, wl_display_next_serial(server->wl_display));
	wl_list_remove(&server->request_set_selection.link);
	wl_list_remove(&server->request_set_primary_selection.link);
}

/* ---- for Bun (compositor thread) ------------------------------------------------------------------ */

static struct wl_array *clipboard_offered(struct weft_server *server, bool primary) {
	if (primary) {
		return server->seat->primary_selection_source ? &server->seat->primary_selection_source->mime_types : NULL;
	}
	return server->seat->selection_source ? &server->seat->selection_source->mime_types : NULL;
}

int clipboard_receive(struct weft_server *server, bool primary, const char *mime, char *chosen, size_t chosen_len) {
	if (!mime_valid(mime)) {
		return -EINVAL;
	}
	struct wl_array *offered = clipboard_offered(server, primary);
	if (offered == NULL) {
		return -ENOENT;
	}
	const char *pick = mime_pick(offered, mime);
	if (pick == NULL) {
		return -ENODATA;
	}
	snprintf(chosen, chosen_len, "%s", pick);

	int fds[2];
	if (pipe2(fds, O_CLOEXEC) < 0) {
		return -errno;
	}
	fcntl(fds[0], F_SETPIPE_SZ, CLIP_PIPE_BYTES); /* best effort: the default 64 KiB works too */
	/* The source owns the write end from here (a client's source sends it to the client and closes ours). */
	if (primary) {
		wlr_primary_selection_source_send(server->seat->primary_selection_source, chosen, fds[1]);
	} else {
		wlr_data_source_send(server->seat->selection_source, chosen, fds[1]);
	}
	return fds[0];
}

int clipboard_list_types(struct weft_server *server, bool primary, char *buffer, size_t buffer_len) {
	if (buffer_len == 0) {
		return -ERANGE;
	}
	buffer[0] = '\0';
	struct wl_array *offered = clipboard_offered(server, primary);
	if (offered == NULL) {
		return -ENOENT;
	}
	size_t used = 0;
	char **type;
	wl_array_for_each(type, offered) {
		char clean[WEFT_CLIPBOARD_MIME_MAX + 1];
		int written = snprintf(buffer + used, buffer_len - used, "%s\n", event_text(clean, sizeof(clean), *type));
		if (written < 0 || (size_t)written >= buffer_len - used) {
			return -ERANGE;
		}
		used += (size_t)written;
	}
	return (int)used;
}

int clipboard_set(struct weft_server *server, bool primary, uint8_t *bytes, size_t length, const char *mime) {
	if (!mime_valid(mime) || length > WEFT_CLIPBOARD_MAX_BYTES) {
		return -EINVAL;
	}
	struct weft_clip_source *source = calloc(1, sizeof(*source));
	if (source == NULL) {
		return -ENOMEM;
	}
	source->server = server;
	source->primary = primary;
	wl_list_init(&source->transfers);
	struct wl_array *types;
	if (primary) {
		wlr_primary_selection_source_init(&source->primary_source, &primary_source_impl);
		types = &source->primary_source.mime_types;
	} else {
		wlr_data_source_init(&source->data, &data_source_impl);
		types = &source->data.mime_types;
	}
	/* Text is offered under every text name, so clients that only know one of them can paste it. */
	bool ok = true;
	if (mime_is_text(mime)) {
		for (size_t i = 0; i < CLIP_TEXT_TYPE_COUNT && ok; i++) {
			ok = mime_list_add(types, clip_text_types[i]);
		}
	} else {
		ok = mime_list_add(types, mime);
	}
	if (!ok) {
		/* Destroying runs our destroy callback, which frees source (but not the caller's bytes yet). */
		if (primary) {
			wlr_primary_selection_source_destroy(&source->primary_source);
		} else {
			wlr_data_source_destroy(&source->data);
		}
		return -ENOMEM;
	}
	source->bytes = bytes; /* ours from here */
	source->length = length;
	/* A fresh serial: newer than any a client holds now, so the next real copy (a newer input serial) wins. */
	uint32_t serial = wl_display_next_serial(server->wl_display);
	if (primary) {
		wlr_seat_set_primary_selection(server->seat, &source->primary_source, serial);
	} else {
		wlr_seat_set_selection(server->seat, &source->data, serial);
	}
	return 0;
}

/* ---- the exported API (Bun thread) ---------------------------------------------------------------- */

struct clip_receive_arg {
	bool primary;
	const char *mime;
	char *chosen;
	size_t chosen_len;
};

static int run_clipboard_receive(struct weft_server *server, void *data) {
	struct clip_receive_arg *arg = data;
	return clipboard_receive(server, arg->primary, arg->mime, arg->chosen, arg->chosen_len);
}

WEFT_API int weft_compositor_clipboard_receive(struct weft_compositor *compositor, uint32_t primary, const char *mime,
		char *chosen, size_t chosen_len) {
	if (mime == NULL || chosen == NULL || chosen_len == 0) {
		return -EINVAL;
	}
	struct clip_receive_arg arg = { .primary = primary != 0, .mime = mime, .chosen = chosen, .chosen_len = chosen_len };
	return server_call_on_thread((struct weft_server *)compositor, run_clipboard_receive, &arg);
}

struct clip_types_arg {
	bool primary;
	char *buffer;
	size_t buffer_len;
};

static int run_clipboard_types(struct weft_server *server, void *data) {
	struct clip_types_arg *arg = data;
	return clipboard_list_types(server, arg->primary, arg->buffer, arg->buffer_len);
}

WEFT_API int weft_compositor_clipboard_types(struct weft_compositor *compositor, uint32_t primary, char *buffer,
		size_t buffer_len) {
	struct clip_types_arg arg = { .primary = primary != 0, .buffer = buffer, .buffer_len = buffer_len };
	return server_call_on_thread((struct weft_server *)compositor, run_clipboard_types, &arg);
}

struct clip_set_arg {
	bool primary;
	uint8_t *bytes;
	size_t length;
	const char *mime;
};

static int run_clipboard_set(struct weft_server *server, void *data) {
	struct clip_set_arg *arg = data;
	return clipboard_set(server, arg->primary, arg->bytes, arg->length, arg->mime);
}

WEFT_API int weft_compositor_clipboard_set(struct weft_compositor *compositor, uint32_t primary, const uint8_t *data,
		size_t length, const char *mime) {
	if (mime == NULL || (data == NULL && length > 0) || length > WEFT_CLIPBOARD_MAX_BYTES) {
		return -EINVAL;
	}
	/* Copied here: Bun's buffer is only borrowed for this call, the source keeps its bytes until replaced. */
	uint8_t *copy = malloc(length > 0 ? length : 1);
	if (copy == NULL) {
		return -ENOMEM;
	}
	if (length > 0) {
		memcpy(copy, data, length);
	}
	struct clip_set_arg arg = { .primary = primary != 0, .bytes = copy, .length = length, .mime = mime };
	int result = server_call_on_thread((struct weft_server *)compositor, run_clipboard_set, &arg);
	if (result < 0) {
		free(copy); /* never reached a source */
	}
	return result;
}
