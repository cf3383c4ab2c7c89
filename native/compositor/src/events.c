/*
 * Events to Bun. The compositor thread never calls into JavaScript: it writes one text line per event into a
 * pipe whose read end Bun watches (services/compositor/events.ts). A line is at most EVENT_LINE_MAX bytes, below
 * PIPE_BUF, so each write is atomic and Bun never sees half a line. The write end is non-blocking: if Bun stops
 * reading and the pipe fills, lines are dropped and counted rather than stalling every client.
 *
 * The events and their fields are protocol/compositor-events.ts's table; the event_* functions at the end of this
 * file are the only writers, one per event, with the table's fields in its order (a test compares the two).
 */
#define _GNU_SOURCE /* F_SETPIPE_SZ, pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>
#include <wlr/util/log.h>

#include "server.h"

#define EVENT_LINE_MAX 1024
#define EVENT_PIPE_BYTES (1 << 20)

bool events_init(struct weft_server *server) {
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) < 0) {
		return false;
	}
	/* Only our end is non-blocking; Bun's read end stays as Bun wants it. */
	fcntl(fds[1], F_SETFL, fcntl(fds[1], F_GETFL) | O_NONBLOCK);
	/* Room for bursts (many windows at once) while Bun's loop is busy; the default 64 KiB is enough too. */
	fcntl(fds[1], F_SETPIPE_SZ, EVENT_PIPE_BYTES);
	server->event_read_fd = fds[0];
	server->event_write_fd = fds[1];
	return true;
}

void events_finish(struct weft_server *server) {
	/* Closing the write end gives Bun end of file: the compositor is gone. */
	if (server->event_write_fd >= 0) {
		close(server->event_write_fd);
		server->event_write_fd = -1;
	}
}

static void event_emit(struct weft_server *server, const char *format, ...) __attribute__((format(printf, 2, 3)));

static void event_emit(struct weft_server *server, const char *format, ...) {
	if (server->event_write_fd < 0 || server->stopping) {
		return;
	}
	char line[EVENT_LINE_MAX];
	va_list args;
	va_start(args, format);
	int length = vsnprintf(line, sizeof(line) - 1, format, args);
	va_end(args);
	if (length < 0) {
		return;
	}
	if ((size_t)length > sizeof(line) - 2) {
		length = sizeof(line) - 2; /* truncated: text fields are bounded by event_text, so only titles lose */
	}
	line[length++] = '\n';
	if (write(server->event_write_fd, line, (size_t)length) < 0) {
		if (server->events_dropped++ == 0) {
			wlr_log(WLR_ERROR, "events to Bun are being dropped: %s", errno == EAGAIN ? "the pipe is full" : "write failed");
		}
	}
}

const char *event_text(char *dst, size_t dst_len, const char *src) {
	size_t i = 0;
	if (src != NULL) {
		for (; src[i] != '\0' && i + 1 < dst_len; i++) {
			unsigned char c = (unsigned char)src[i];
			dst[i] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
		}
	}
	/* Do not end inside a UTF-8 sequence: drop a trailing partial character. */
	if (src != NULL && src[i] != '\0') {
		while (i > 0 && ((unsigned char)dst[i - 1] & 0xC0) == 0x80) {
			i--;
		}
		if (i > 0 && ((unsigned char)dst[i - 1] & 0xC0) == 0xC0) {
			i--;
		}
	}
	dst[i] = '\0';
	return dst;
}

/* ---- the events (protocol/compositor-events.ts) ---------------------------------------------------------- */

void event_window_mapped(struct weft_server *server, uint32_t id, uint64_t session, const char *role, const char *app_id,
	const char *title, int x, int y, int width, int height) {
	char app_id_text[256], title_text[512];
	event_emit(server, "window-mapped\t%u\t%llu\t%s\t%s\t%s\t%d\t%d\t%d\t%d", id, (unsigned long long)session, role,
		event_text(app_id_text, sizeof(app_id_text), app_id), event_text(title_text, sizeof(title_text), title), x, y, width,
		height);
}

void event_window_changed(struct weft_server *server, uint32_t id, uint64_t session, const char *app_id, const char *title) {
	char app_id_text[256], title_text[512];
	event_emit(server, "window-changed\t%u\t%llu\t%s\t%s", id, (unsigned long long)session,
		event_text(app_id_text, sizeof(app_id_text), app_id), event_text(title_text, sizeof(title_text), title));
}

void event_window_closed(struct weft_server *server, uint32_t id, uint64_t session) {
	event_emit(server, "window-closed\t%u\t%llu", id, (unsigned long long)session);
}

void event_focus(struct weft_server *server, uint32_t id, uint64_t session) {
	event_emit(server, "focus\t%u\t%llu", id, (unsigned long long)session);
}

void event_gesture(struct weft_server *server, uint32_t type, uint32_t fingers, double dx, double dy) {
	event_emit(server, "gesture\t%u\t%u\t%.1f\t%.1f", type, fingers, dx, dy);
}
