/*
 * Input's internals, shared by input.c (real devices, gestures, the seat) and test-input.c (the virtual devices
 * tests drive): the per-device and per-server state, and the paths both feed events into.
 */
#ifndef WEFT_INPUT_H
#define WEFT_INPUT_H

#include <linux/input-event-codes.h>
#include <stdbool.h>
#include <stdint.h>

#include "server.h"

/* A navigation swipe must travel this far (logical px) on one axis; the Super+arrow shortcut travels exactly this. */
#define WEFT_SWIPE_THRESHOLD 100.0
#define WEFT_SWIPE_MIN_FINGERS 3
/* A test swipe's finger count: what a touchpad (or two hands on one) can report. */
#define WEFT_TEST_MAX_FINGERS 10

/* Key repeat the seat advertises (wl_keyboard.repeat_info): clients repeat on their own with these values. */
#define WEFT_REPEAT_RATE 25
#define WEFT_REPEAT_DELAY 200

struct weft_keyboard {
	struct weft_input *input;
	struct wlr_input_device *device;
	/* Keys whose press the compositor consumed (Super+arrow): their release is consumed too. */
	uint8_t consumed[(KEY_MAX + 1) / 8];
	struct wl_listener modifiers;
	struct wl_listener key;
	struct wl_listener destroy;
	struct wl_list link; /* weft_input.keyboards */
};

struct weft_pointer {
	struct weft_input *input;
	struct wlr_input_device *device;
	struct wl_listener destroy;
	struct wl_list link; /* weft_input.pointers */
};

/* A touchpad swipe being recognised: displacement summed over its updates. */
struct weft_swipe {
	bool active;
	uint32_t fingers;
	double dx, dy;
};

struct weft_input {
	struct weft_server *server;
	struct xkb_context *xkb_context;
	struct xkb_keymap *keymap; /* every keyboard gets this one (XKB_DEFAULT_* honoured) */
	struct wlr_cursor *cursor;
	struct wlr_xcursor_manager *cursor_manager;
	bool cursor_theme_loaded; /* false headless without a theme: the cursor is simply not drawn */
	struct wlr_pointer_gestures_v1 *pointer_gestures;
	struct wl_list keyboards; /* weft_keyboard.link */
	struct wl_list pointers;  /* weft_pointer.link */

	/*
	 * Implicit grab: while a button is held, the surface it was pressed on keeps the pointer (a drag out of a
	 * window still reaches it), with coordinates relative to where that surface was at the press.
	 */
	struct wlr_surface *grab_surface;
	double grab_origin_x, grab_origin_y;
	struct wl_listener grab_surface_destroy;

	struct weft_swipe swipe;

	/* Test input (NULL until weft_compositor_test_input_enable). */
	struct wlr_input_device *test_keyboard, *test_pointer;
	bool test_enabled; /* weft_compositor_test_input_enable succeeded: the test_* calls may drive the devices */

	struct wl_listener new_input;
	struct wl_listener cursor_motion;
	struct wl_listener cursor_motion_absolute;
	struct wl_listener cursor_button;
	struct wl_listener cursor_axis;
	struct wl_listener cursor_frame;
	struct wl_listener cursor_swipe_begin;
	struct wl_listener cursor_swipe_update;
	struct wl_listener cursor_swipe_end;
	struct wl_listener cursor_pinch_begin;
	struct wl_listener cursor_pinch_update;
	struct wl_listener cursor_pinch_end;
	struct wl_listener cursor_hold_begin;
	struct wl_listener cursor_hold_end;
	struct wl_listener request_set_cursor;
};

/* CLOCK_MONOTONIC in milliseconds: the time stamp of an input event. */
uint32_t input_now_msec(void);

/* The navigation-swipe recogniser: a swipe of 3+ fingers that travels 100 px on an axis is a gesture. */
void input_swipe_begin(struct weft_input *input, uint32_t fingers);
void input_swipe_update(struct weft_input *input, double dx, double dy);
void input_swipe_end(struct weft_input *input, bool cancelled);

/* The pointer moved to the cursor's position: enter/motion on the surface under it (or the grab). */
void input_pointer_moved(struct weft_input *input, uint32_t time_msec);
/* A button press or release where the cursor is: click to focus, the implicit grab, the seat. */
void input_pointer_button(struct weft_input *input, uint32_t time_msec, uint32_t button,
		enum wlr_button_state state);

#endif
