/*
 * Test input. With a headless backend there is no human and no input device, so tests (and a demo driven by a
 * script) need a way to type and click: weft_compositor_test_input_enable adds a virtual keyboard and pointer to
 * the headless backend, and the weft_compositor_test_* functions drive them through the same paths as real
 * devices (wlr_keyboard_notify_key, so modifiers, repeat and shortcuts behave as real keys do). Bun decides
 * whether to enable it (services/compositor/test-input.ts): on a real seat, synthetic input would let any
 * process of the user's uid type into the user's windows, so it exists only on a headless-only backend or
 * when WEFT_COMPOSITOR_TEST_INPUT=1 asks for it explicitly (and then only if the backend has a headless part).
 */

#include <errno.h>
#include <linux/input-event-codes.h>
#include <wlr/backend/headless.h>
#include <wlr/backend/multi.h>
#include <wlr/interfaces/wlr_keyboard.h>
#include <wlr/types/wlr_cursor.h>
#include <wlr/types/wlr_input_device.h>
#include <wlr/types/wlr_keyboard.h>
#include <wlr/util/log.h>
#include <xkbcommon/xkbcommon.h>

#include "input.h"

static void test_backend_kind(struct wlr_backend *backend, void *data) {
	bool *headless_only = data;
	if (!wlr_backend_is_headless(backend)) {
		*headless_only = false;
	}
}

static int run_backend_is_headless(struct weft_server *server, void *data) {
	bool headless_only = true;
	if (wlr_backend_is_multi(server->backend)) {
		wlr_multi_for_each_backend(server->backend, test_backend_kind, &headless_only);
	} else {
		headless_only = wlr_backend_is_headless(server->backend);
	}
	return headless_only && server->headless_backend != NULL;
}

WEFT_API int weft_compositor_backend_is_headless(struct weft_compositor *compositor) {
	return server_call_on_thread((struct weft_server *)compositor, run_backend_is_headless, NULL);
}

static int run_test_input_enable(struct weft_server *server, void *data) {
	struct weft_input *input = server->input;
	if (server->headless_backend == NULL) {
		return -ENODEV;
	}
	if (input->test_enabled) {
		return 0;
	}
	/* The backend has started, so each device comes through new_input (input_handle_new_input) right here. */
	if (input->test_keyboard == NULL) {
		input->test_keyboard = wlr_headless_add_input_device(server->headless_backend, WLR_INPUT_DEVICE_KEYBOARD);
	}
	if (input->test_pointer == NULL) {
		input->test_pointer = wlr_headless_add_input_device(server->headless_backend, WLR_INPUT_DEVICE_POINTER);
	}
	if (input->test_keyboard == NULL || input->test_pointer == NULL) {
		return -ENOMEM;
	}
	input->test_enabled = true;
	wlr_log(WLR_INFO, "test input on: a virtual keyboard and pointer on the headless backend");
	return 0;
}

WEFT_API int weft_compositor_test_input_enable(struct weft_compositor *compositor) {
	return server_call_on_thread((struct weft_server *)compositor, run_test_input_enable, NULL);
}

/* -EPERM until test input was enabled (Bun enables it only where it is allowed). */
static int test_input_check(struct weft_server *server) {
	struct weft_input *input = server->input;
	return input != NULL && input->test_enabled && input->test_keyboard != NULL && input->test_pointer != NULL ? 0 : -EPERM;
}

/* Warps the cursor to (x, y), which must be finite and inside an output, and delivers the motion. */
static int test_pointer_warp(struct weft_server *server, double x, double y) {
	struct weft_input *input = server->input;
	if (!isfinite(x) || !isfinite(y)) {
		return -EINVAL;
	}
	if (wlr_output_layout_output_at(server->output_layout, x, y) == NULL) {
		return -EDOM;
	}
	if (!wlr_cursor_warp(input->cursor, input->test_pointer, x, y)) {
		return -EDOM;
	}
	input_pointer_moved(input, input_now_msec());
	wlr_seat_pointer_notify_frame(server->seat);
	return 0;
}

struct test_pointer_arg {
	double x, y;
	uint32_t button;
	bool pressed;
	bool click;
};

static int run_test_pointer(struct weft_server *server, void *data) {
	struct test_pointer_arg *arg = data;
	int result = test_input_check(server);
	if (result < 0) {
		return result;
	}
	if (!arg->click) {
		return test_pointer_warp(server, arg->x, arg->y);
	}
	/*
	 * A click: first a point 1 px away, then the target. wlroots drops a motion to the coordinates the enter
	 * already carried, and some clients ignore enter coordinates, so the target must arrive as a real motion.
	 */
	double near_x = wlr_output_layout_output_at(server->output_layout, arg->x - 1, arg->y) ? arg->x - 1 : arg->x + 1;
	if ((result = test_pointer_warp(server, near_x, arg->y)) < 0 && result != -EDOM) {
		return result;
	}
	if ((result = test_pointer_warp(server, arg->x, arg->y)) < 0) {
		return result;
	}
	input_pointer_button(server->input, input_now_msec(), BTN_LEFT, WLR_BUTTON_PRESSED);
	wlr_seat_pointer_notify_frame(server->seat);
	input_pointer_button(server->input, input_now_msec(), BTN_LEFT, WLR_BUTTON_RELEASED);
	wlr_seat_pointer_notify_frame(server->seat);
	return 0;
}

WEFT_API int weft_compositor_test_pointer_move(struct weft_compositor *compositor, double x, double y) {
	struct test_pointer_arg arg = { .x = x, .y = y };
	return server_call_on_thread((struct weft_server *)compositor, run_test_pointer, &arg);
}

WEFT_API int weft_compositor_test_click(struct weft_compositor *compositor, double x, double y) {
	struct test_pointer_arg arg = { .x = x, .y = y, .click = true };
	return server_call_on_thread((struct weft_server *)compositor, run_test_pointer, &arg);
}

static int run_test_pointer_button(struct weft_server *server, void *data) {
	struct test_pointer_arg *arg = data;
	int result = test_input_check(server);
	if (result < 0) {
		return result;
	}
	/* Linux button codes: BTN_MISC (0x100) up to BTN_TASK, the mouse buttons and their neighbours. */
	if (arg->button < BTN_MISC || arg->button > BTN_GEAR_UP) {
		return -EINVAL;
	}
	input_pointer_button(server->input, input_now_msec(), arg->button, arg->pressed ? WLR_BUTTON_PRESSED : WLR_BUTTON_RELEASED);
	wlr_seat_pointer_notify_frame(server->seat);
	return 0;
}

WEFT_API int weft_compositor_test_pointer_button(struct weft_compositor *compositor, uint32_t button, int32_t pressed) {
	struct test_pointer_arg arg = { .button = button, .pressed = pressed != 0 };
	return server_call_on_thread((struct weft_server *)compositor, run_test_pointer_button, &arg);
}

/* A key of the virtual keyboard, through the same path as a real one (modifiers, shortcuts, seat). */
static void test_key(struct weft_input *input, uint32_t keycode, bool pressed) {
	struct wlr_event_keyboard_key event = {
		.time_msec = input_now_msec(),
		.keycode = keycode,
		.update_state = true,
		.state = pressed ? WL_KEYBOARD_KEY_STATE_PRESSED : WL_KEYBOARD_KEY_STATE_RELEASED,
	};
	wlr_keyboard_notify_key(input->test_keyboard->keyboard, &event);
}

/* An evdev keycode the keymap has a key for (xkb keycodes are evdev + 8). */
static bool test_keycode_valid(struct weft_input *input, uint32_t keycode) {
	if (keycode == 0 || keycode > KEY_MAX) {
		return false;
	}
	xkb_keycode_t xkb = keycode + 8;
	return xkb >= xkb_keymap_min_keycode(input->keymap) && xkb <= xkb_keymap_max_keycode(input->keymap) &&
		xkb_keymap_key_get_name(input->keymap, xkb) != NULL;
}

struct test_key_arg {
	uint32_t keycode;
	bool pressed;
};

static int run_test_key(struct weft_server *server, void *data) {
	struct test_key_arg *arg = data;
	int result = test_input_check(server);
	if (result < 0) {
		return result;
	}
	if (!test_keycode_valid(server->input, arg->keycode)) {
		return -EINVAL;
	}
	struct wlr_keyboard *keyboard = server->input->test_keyboard->keyboard;
	bool down = false;
	for (size_t i = 0; i < keyboard->num_keycodes; i++) {
		down = down || keyboard->keycodes[i] == arg->keycode;
	}
	/* A press of a held key or the release of a key not held would confuse clients' state: refuse it. */
	if (down == arg->pressed) {
		return -EALREADY;
	}
	if (arg->pressed && keyboard->num_keycodes >= WLR_KEYBOARD_KEYS_CAP) {
		return -EMLINK;
	}
	test_key(server->input, arg->keycode, arg->pressed);
	return 0;
}

WEFT_API int weft_compositor_test_key(struct weft_compositor *compositor, uint32_t keycode, int32_t pressed) {
	struct test_key_arg arg = { .keycode = keycode, .pressed = pressed != 0 };
	return server_call_on_thread((struct weft_server *)compositor, run_test_key, &arg);
}

/* How to type one character: a key, with or without Shift. */
struct keystroke {
	uint32_t keycode; /* evdev */
	bool shift;
};

/* Decodes one UTF-8 character at text; returns its length, 0 at the end, -1 for invalid UTF-8. */
static int utf8_next(const char *text, uint32_t *codepoint) {
	const unsigned char *s = (const unsigned char *)text;
	if (s[0] == 0) {
		return 0;
	}
	if (s[0] < 0x80) {
		*codepoint = s[0];
		return 1;
	}
	int length = (s[0] & 0xe0) == 0xc0 ? 2 : (s[0] & 0xf0) == 0xe0 ? 3 : (s[0] & 0xf8) == 0xf0 ? 4 : -1;
	if (length < 0) {
		return -1;
	}
	uint32_t value = s[0] & (0x7f >> length);
	for (int i = 1; i < length; i++) {
		if ((s[i] & 0xc0) != 0x80) {
			return -1;
		}
		value = (value << 6) | (s[i] & 0x3f);
	}
	*codepoint = value;
	return length;
}

/* Finds a key of layout 0 that types codepoint at level 1 (no modifier) or at a Shift-only level. */
static bool keystroke_for(struct weft_input *input, uint32_t codepoint, struct keystroke *out) {
	/* xkb maps '\n' to Linefeed, which no ordinary keyboard has: Return is what a user presses. */
	xkb_keysym_t wanted = codepoint == '\n' ? XKB_KEY_Return : xkb_utf32_to_keysym(codepoint);
	if (wanted == XKB_KEY_NoSymbol) {
		return false;
	}
	struct xkb_keymap *keymap = input->keymap;
	xkb_mod_mask_t shift = 1u << xkb_keymap_mod_get_index(keymap, XKB_MOD_NAME_SHIFT);
	for (int want_shift = 0; want_shift <= 1; want_shift++) {
		for (xkb_keycode_t key = xkb_keymap_min_keycode(keymap); key <= xkb_keymap_max_keycode(keymap); key++) {
			if (key < 9 || key - 8 > KEY_MAX) {
				continue;
			}
			xkb_level_index_t levels = xkb_keymap_num_levels_for_key(keymap, key, 0);
			for (xkb_level_index_t level = 0; level < levels; level++) {
				const xkb_keysym_t *syms;
				if (xkb_keymap_key_get_syms_by_level(keymap, key, 0, level, &syms) != 1 || syms[0] != wanted) {
					continue;
				}
				xkb_mod_mask_t masks[8];
				size_t count = xkb_keymap_key_get_mods_for_level(keymap, key, 0, level, masks, 8);
				for (size_t i = 0; i < count; i++) {
					if (masks[i] == (want_shift ? shift : 0)) {
						*out = (struct keystroke){ .keycode = key - 8, .shift = want_shift };
						return true;
					}
				}
			}
		}
	}
	return false;
}

struct test_type_arg {
	const char *text;
	int32_t bad_offset; /* byte offset of the first character the keymap cannot type, or -1 */
};

static int run_test_type_text(struct weft_server *server, void *data) {
	struct test_type_arg *arg = data;
	arg->bad_offset = -1;
	int result = test_input_check(server);
	if (result < 0) {
		return result;
	}
	struct weft_input *input = server->input;
	/* Checked whole first: an untypable character types nothing at all, not half the text. */
	const char *p = arg->text;
	uint32_t codepoint;
	int length;
	struct keystroke stroke;
	while ((length = utf8_next(p, &codepoint)) > 0) {
		if (!keystroke_for(input, codepoint, &stroke)) {
			arg->bad_offset = (int32_t)(p - arg->text);
			return -EILSEQ;
		}
		p += length;
	}
	if (length < 0) {
		arg->bad_offset = (int32_t)(p - arg->text);
		return -EILSEQ;
	}
	/* Held keys would combine with what we type (a held Shift uppercases everything): refuse instead. */
	if (input->test_keyboard->keyboard->num_keycodes > 0) {
		return -EBUSY;
	}
	for (p = arg->text; (length = utf8_next(p, &codepoint)) > 0; p += length) {
		keystroke_for(input, codepoint, &stroke);
		if (stroke.shift) {
			test_key(input, KEY_LEFTSHIFT, true);
		}
		test_key(input, stroke.keycode, true);
		test_key(input, stroke.keycode, false);
		if (stroke.shift) {
			test_key(input, KEY_LEFTSHIFT, false);
		}
	}
	return 0;
}

WEFT_API int weft_compositor_test_type_text(struct weft_compositor *compositor, const char *text, int32_t *bad_offset) {
	struct test_type_arg arg = { .text = text };
	int result = server_call_on_thread((struct weft_server *)compositor, run_test_type_text, &arg);
	*bad_offset = arg.bad_offset;
	return result;
}

struct test_swipe_arg {
	uint32_t fingers;
	double dx, dy;
};

static int run_test_swipe(struct weft_server *server, void *data) {
	struct test_swipe_arg *arg = data;
	int result = test_input_check(server);
	if (result < 0) {
		return result;
	}
	if (arg->fingers < 1 || arg->fingers > WEFT_TEST_MAX_FINGERS || !isfinite(arg->dx) || !isfinite(arg->dy)) {
		return -EINVAL;
	}
	/* The recogniser real touchpads feed, in a few updates as a touchpad reports them. */
	struct weft_input *input = server->input;
	const int steps = 4;
	input_swipe_begin(input, arg->fingers);
	for (int i = 0; i < steps; i++) {
		input_swipe_update(input, arg->dx / steps, arg->dy / steps);
	}
	input_swipe_end(input, false);
	return 0;
}

WEFT_API int weft_compositor_test_swipe(struct weft_compositor *compositor, uint32_t fingers, double dx, double dy) {
	struct test_swipe_arg arg = { .fingers = fingers, .dx = dx, .dy = dy };
	return server_call_on_thread((struct weft_server *)compositor, run_test_swipe, &arg);
}
