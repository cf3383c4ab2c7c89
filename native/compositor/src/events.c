/*
 * Events to Bun. The compositor thread never calls into JavaScript: it writes one text line per event into a
 * pipe whose read end Bun watches (services/compositor/events.ts). A line is at most EVENT_LINE_MAX bytes, below
 * PIPE_BUF, so each write is atomic and Bun never sees half a line. The write end is non-blocking: if Bun stops
 * reading and the pipe fills, lines are dropped and counted rather than stalling every client.
 *
 *   window-mapped  <id> <session> <role> <app_id> <title> <x> <y> <width> <height>
 *   window-changed <id> <session> <app_id> <title>
 *   window-closed  <id> <session>
 *   focus          <id> <session>          (0 0: nothing has keyboard focus)
 *   gesture        <type> <fingers> <dx> <dy>
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

void event_emit(struct weft_server *server, const char *format, ...) {
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
