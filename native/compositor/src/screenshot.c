/*
 * Screenshots for Bun (Compositor1.Screenshot): the scene is rendered once more, into a buffer of our own, the
 * same way the output renders it, and the pixels are read back. Synchronous on the compositor thread and
 * independent of the output's frame clock, so a screenshot never waits for the next vblank and never disturbs
 * what clients see. The TypeScript side turns the pixels into a PNG.
 */
#include <drm_fourcc.h>
#include <errno.h>
#include <stdlib.h>
#include <wlr/render/drm_format_set.h>
#include <wlr/util/log.h>

#include "server.h"

int screenshot_output(struct weft_server *server, const char *output_name, uint8_t **pixels_out, int *width_out,
		int *height_out, int *stride_out) {
	struct weft_output *output = output_by_name(server, output_name);
	if (output == NULL) {
		return -ENOENT;
	}
	struct wlr_output *wlr_output = output->wlr_output;
	struct wlr_box *box = wlr_output_layout_get_box(server->output_layout, wlr_output);
	if (box == NULL || wlr_output->width <= 0 || wlr_output->height <= 0) {
		return -ENOENT;
	}
	int width = wlr_output->width, height = wlr_output->height;

	/* A linear XRGB buffer from the same allocator the outputs use (shm without a GPU). */
	struct wlr_drm_format *format = calloc(1, sizeof(*format) + 2 * sizeof(uint64_t));
	if (format == NULL) {
		return -ENOMEM;
	}
	format->format = DRM_FORMAT_XRGB8888;
	format->len = 2;
	format->capacity = 2;
	format->modifiers[0] = DRM_FORMAT_MOD_INVALID;
	format->modifiers[1] = DRM_FORMAT_MOD_LINEAR;
	struct wlr_buffer *buffer = wlr_allocator_create_buffer(server->allocator, width, height, format);
	free(format);
	if (buffer == NULL) {
		wlr_log(WLR_ERROR, "screenshot: unable to allocate a %dx%d buffer", width, height);
		return -ENOMEM;
	}

	int stride = width * 4;
	uint8_t *pixels = malloc((size_t)stride * (size_t)height);
	if (pixels == NULL) {
		wlr_buffer_drop(buffer);
		return -ENOMEM;
	}
	int result = 0;
	if (!wlr_renderer_begin_with_buffer(server->renderer, buffer)) {
		result = -EIO;
	} else {
		static const float black[4] = { 0, 0, 0, 1 };
		wlr_renderer_clear(server->renderer, black);
		wlr_scene_render_output(server->scene, wlr_output, box->x, box->y, NULL);
		/* Little-endian ARGB8888: bytes B, G, R, A in memory. */
		if (!wlr_renderer_read_pixels(server->renderer, DRM_FORMAT_ARGB8888, NULL, (uint32_t)stride,
				(uint32_t)width, (uint32_t)height, 0, 0, 0, 0, pixels)) {
			result = -EIO;
		}
		wlr_renderer_end(server->renderer);
	}
	wlr_buffer_drop(buffer);
	if (result < 0) {
		free(pixels);
		return result;
	}
	*pixels_out = pixels;
	*width_out = width;
	*height_out = height;
	*stride_out = stride;
	return 0;
}
