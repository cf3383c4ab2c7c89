/*
 * Input: keyboards, pointers and touchpad gestures from the backend, routed to the seat; the compositor's own
 * navigation gestures (3+-finger swipes, Super+arrow); and the virtual devices tests use (test-input.c).
 *
 *   backend new_input ─▶ keyboard: XKB keymap, repeat 25 Hz after 200 ms ─▶ key: Super+arrow? ─▶ gesture
 *                     │                                                        └─ else ─▶ seat ─▶ focused surface
 *                     └▶ pointer: attached to the wlr_cursor ─▶ motion/button/axis/frame ─▶ surface under cursor
 *                                                           └─▶ swipe begin/update/end ─▶ recogniser ─▶ gesture
 */
#include <errno.h>
#include <linux/input-event-codes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <wlr/backend/headless.h>
#include <wlr/types/wlr_cursor.h>
#include <wlr/types/wlr_input_device.h>
#include <wlr/types/wlr_keyboard.h>
#include <wlr/types/wlr_pointer.h>
#include <wlr/types/wlr_pointer_gestures_v1.h>
#include <wlr/types/wlr_xcursor_manager.h>
#include <wlr/util/log.h>
#include <xkbcommon/xkbcommon.h>

#include "input.h"

uint32_t input_now_msec(void) {
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (uint32_t)(now.tv_sec * 1000 + now.tv_nsec / 1000000);
}

static void input_update_capabilities(struct weft_input *input) {
	uint32_t caps = 0;
	if (!wl_list_empty(&input->keyboards)) {
		caps |= WL_SEAT_CAPABILITY_KEYBOARD;
	}
	if (!wl_list_empty(&input->pointers)) {
		caps |= WL_SEAT_CAPABILITY_POINTER;
	}
	wlr_seat_set_capabilities(input->server->seat, caps);
}

/* ---- gestures ----------------------------------------------------------------------------------------- */

void input_swipe_begin(struct weft_input *input, uint32_t fingers) {
	input->swipe = (struct weft_swipe){ .active = true, .fingers = fingers };
}

void input_swipe_update(struct weft_input *input, double dx, double dy) {
	if (input->swipe.active) {
		input->swipe.dx += dx;
		input->swipe.dy += dy;
	}
}

/* Ends the swipe; a navigation gesture when it was not cancelled, had 3+ fingers and went 100 px on an axis. */
void input_swipe_end(struct weft_input *input, bool cancelled) {
	struct weft_swipe swipe = input->swipe;
	input->swipe = (struct weft_swipe){ 0 };
	if (!swipe.active || cancelled || swipe.fingers < WEFT_SWIPE_MIN_FINGERS) {
		return;
	}
	if (fabs(swipe.dx) < WEFT_SWIPE_THRESHOLD && fabs(swipe.dy) < WEFT_SWIPE_THRESHOLD) {
		return;
	}
	struct weft_gesture gesture = {
		.type = WEFT_GESTURE_SWIPE,
		.fingers = swipe.fingers,
		.dx = swipe.dx,
		.dy = swipe.dy,
	};
	layout_navigation_gesture(input->server, &gesture);
}

/*
 * Swipes with 3+ fingers belong to the compositor (navigation) and are not forwarded; swipes with fewer fingers,
 * pinches and holds go to the surface under the pointer through zwp_pointer_gestures_v1.
 */
static void cursor_handle_swipe_begin(struct wl_listener *listener, void *data) {
	struct weft_input *input = wl_container_of(listener, input, cursor_swipe_begin);
	struct wlr_event_pointer_swipe_begin *event = data;
	input_swipe_begin(input, event->fingers);
	if (event->fingers < WEFT_SWIPE_MIN_FINGERS) {
		wlr_pointer_gestures_v1_send_swipe_begin(input->pointer_gestures, input->server->seat, event->time_msec,
			event->fingers);
	}
}

static void cursor_handle_swipe_update(struct wl_listener *listener, void *data) {
	struct weft_input *input = wl_container_of(listener, input, cursor_swipe_update);
	struct wlr_event_pointer_swipe_update *event = data;
	input_swipe_update(input, event->dx, event->dy);
	if (input->swipe.active && input->swipe.fingers < WEFT_SWIPE_MIN_FINGERS) {
		wlr_pointer_gestures_v1_send_swipe_update(input->pointer_gestures, input->server->seat, event->time_msec,
			event->dx, event->dy);
	}
}

static void cursor_handle_swipe_end(struct wl_listener *listener, void *data) {
	struct weft_input *input = wl_container_of(listener, input, cursor_swipe_end);
	struct wlr_event_pointer_swipe_end *event = data;
	if (input->swipe.active && input->swipe.fingers < WEFT_SWIPE_MIN_FINGERS) {
		wlr_pointer_gestures_v1_send_swipe_end(input->pointer_gestures, input->server->seat, event->time_msec,
			event->cancelled);
	}
	input_swipe_end(input, event->cancelled);
}

static void cursor_handle_pinch_begin(struct wl_listener *listener, void *data) {
	struct weft_input *input = wl_container_of(listener, input, cursor_pinch_begin);
	struct wlr_event_pointer_pinch_begin *event = data;
	wlr_pointer_gestures_v1_send_pinch_begin(input->pointer_gestures, input->server->seat, event->time_msec,
		event->fingers);
}

static void cursor_handle_pinch_update(struct wl_listener *listener, void *data) {
	struct weft_input *input = wl_container_of(listener, input, cursor_pinch_update);
	struct wlr_event_pointer_pinch_update *event = data;
	wlr_pointer_gestures_v1_send_pinch_update(input->pointer_gestures, input->server->seat, event->time_msec,
		event->dx, event->dy, event->scale, event->rotation);
}

static void cursor_handle_pinch_end(struct wl_listener *listener, void *data) {
	struct weft_input *input = wl_container_of(listener, input, cursor_pinch_end);
	struct wlr_event_pointer_pinch_end *event = data;
	wlr_pointer_gestures_v1_send_pinch_end(input->pointer_gestures, input->server->seat, event->time_msec,
		event->cancelled);
}

static void cursor_handle_hold_begin(struct wl_listener *listener, void *data) {
	struct weft_input *input = wl_container_of(listener, input, cursor_hold_begin);
	struct wlr_event_pointer_hold_begin *event = data;
	wlr_pointer_gestures_v1_send_hold_begin(input->pointer_gestures, input->server->seat, event->time_msec,
		event->fingers);
}

static void cursor_handle_hold_end(struct wl_listener *listener, void *data) {
	struct weft_input *input = wl_container_of(listener, input, cursor_hold_end);
	struct wlr_event_pointer_hold_end *event = data;
	wlr_pointer_gestures_v1_send_hold_end(input->pointer_gestures, input->server->seat, event->time_msec,
		event->cancelled);
}

/* ---- pointer ------------------------------------------------------------------------------------------- */

static void input_end_grab(struct weft_input *input) {
	if (input->grab_surface != NULL) {
		wl_list_remove(&input->grab_surface_destroy.link);
		input->grab_surface = NULL;
	}
}

static void grab_surface_handle_destroy(struct wl_listener *listener, void *data) {
	struct weft_input *input = wl_container_of(listener, input, grab_surface_destroy);
	input_end_grab(input);
}

/* The cursor moved: the surface under it (or the grabbing one) gets enter/motion; empty space clears focus. */
void input_pointer_moved(struct weft_input *input, uint32_t time_msec) {
	struct weft_server *server = input->server;
	struct wlr_cursor *cursor = input->cursor;
	if (input->grab_surface != NULL) {
		wlr_seat_pointer_notify_motion(server->seat, time_msec, cursor->x - input->grab_origin_x,
			cursor->y - input->grab_origin_y);
		return;
	}
	struct wlr_surface *surface = NULL;
	double sx = 0, sy = 0;
	/* Any surface in the scene counts, also those of no view (popups are inside their toplevel's tree). */
	layout_view_at(server, cursor->x, cursor->y, &surface, &sx, &sy);
	if (surface == NULL) {
		if (input->cursor_theme_loaded) {
			wlr_xcursor_manager_set_cursor_image(input->cursor_manager, "left_ptr", cursor);
		}
		wlr_seat_pointer_notify_clear_focus(server->seat);
		return;
	}
	/* notify_enter is a no-op for the surface that already has focus. */
	wlr_seat_pointer_notify_enter(server->seat, surface, sx, sy);
	wlr_seat_pointer_notify_motion(server->seat, time_msec, sx, sy);
}

void input_pointer_button(struct weft_input *input, uint32_t time_msec, uint32_t button,
		enum wlr_button_state state) {
	struct weft_server *server = input->server;
	if (state == WLR_BUTTON_PRESSED) {
		struct wlr_surface *surface = NULL;
		double sx = 0, sy = 0;
		struct weft_view *view = layout_view_at(server, input->cursor->x, input->cursor->y, &surface, &sx, &sy);
		/* Click to focus: the shell's own page too (layout_focus_view leaves the shown session as it is). */
		if (view != NULL && view != server->focused_view) {
			layout_focus_view(server, view);
		}
		if (surface != NULL && input->grab_surface == NULL && surface == server->seat->pointer_state.focused_surface) {
			input->grab_surface = surface;
			input->grab_origin_x = input->cursor->x - sx;
			input->grab_origin_y = input->cursor->y - sy;
			input->grab_surface_destroy.notify = grab_surface_handle_destroy;
			wl_signal_add(&surface->events.destroy, &input->grab_surface_destroy);
		}
	}
	wlr_seat_pointer_notify_button(server->seat, time_msec, button, state);
	if (state == WLR_BUTTON_RELEASED && server->seat->pointer_state.button_count == 0 && input->grab_surface != NULL) {
		input_end_grab(input);
		input_pointer_moved(input, time_msec); /* the pointer may be over another surface by now */
	}
}

static void cursor_handle_motion(struct wl_listener *listener, void *data) {
	struct weft_input *input = wl_container_of(listener, input, cursor_motion);
	struct wlr_event_pointer_motion *event = data;
	wlr_cursor_move(input->cursor, event->device, event->delta_x, event->delta_y);
	input_pointer_moved(input, event->time_msec);
}

static void cursor_handle_motion_absolute(struct wl_listener *listener, void *data) {
	struct weft_input *input = wl_container_of(listener, input, cursor_motion_absolute);
	struct wlr_event_pointer_motion_absolute *event = data;
	wlr_cursor_warp_absolute(input->cursor, event->device, event->x, event->y);
	input_pointer_moved(input, event->time_msec);
}

static void cursor_handle_button(struct wl_listener *listener, void *data) {
	struct weft_input *input = wl_container_of(listener, input, cursor_button);
	struct wlr_event_pointer_button *event = data;
	input_pointer_button(input, event->time_msec, event->button, event->state);
}

static void cursor_handle_axis(struct wl_listener *listener, void *data) {
	struct weft_input *input = wl_container_of(listener, input, cursor_axis);
	struct wlr_event_pointer_axis *event = data;
	wlr_seat_pointer_notify_axis(input->server->seat, event->time_msec, event->orientation, event->delta,
		event->delta_discrete, event->source);
}

static void cursor_handle_frame(struct wl_listener *listener, void *data) {
	struct weft_input *input = wl_container_of(listener, input, cursor_frame);
	wlr_seat_pointer_notify_frame(input->server->seat);
}

static void seat_handle_request_set_cursor(struct wl_listener *listener, void *data) {
	struct weft_input *input = wl_container_of(listener, input, request_set_cursor);
	struct wlr_seat_pointer_request_set_cursor_event *event = data;
	/* Any client may send this; only the one with pointer focus may change the cursor image. */
	if (event->seat_client == input->server->seat->pointer_state.focused_client) {
		wlr_cursor_set_surface(input->cursor, event->surface, event->hotspot_x, event->hotspot_y);
	}
}

static void pointer_handle_destroy(struct wl_listener *listener, void *data) {
	struct weft_pointer *pointer = wl_container_of(listener, pointer, destroy);
	struct weft_input *input = pointer->input;
	if (input->test_pointer == pointer->device) {
		input->test_pointer = NULL;
	}
	wl_list_remove(&pointer->destroy.link);
	wl_list_remove(&pointer->link);
	free(pointer);
	input_update_capabilities(input);
}

static void input_add_pointer(struct weft_input *input, struct wlr_input_device *device) {
	struct weft_pointer *pointer = calloc(1, sizeof(*pointer));
	if (pointer == NULL) {
		wlr_log(WLR_ERROR, "out of memory: ignoring pointer %s", device->name);
		return;
	}
	pointer->input = input;
	pointer->device = device;
	pointer->destroy.notify = pointer_handle_destroy;
	wl_signal_add(&device->events.destroy, &pointer->destroy);
	wl_list_insert(&input->pointers, &pointer->link);
	wlr_cursor_attach_input_device(input->cursor, device);
}

/* ---- keyboard ------------------------------------------------------------------------------------------ */

static void keyboard_handle_modifiers(struct wl_listener *listener, void *data) {
	struct weft_keyboard *keyboard = wl_container_of(listener, keyboard, modifiers);
	struct wlr_seat *seat = keyboard->input->server->seat;
	/* One seat, several keyboards: the seat shows the state of the one used last. */
	wlr_seat_set_keyboard(seat, keyboard->device);
	wlr_seat_keyboard_notify_modifiers(seat, &keyboard->device->keyboard->modifiers);
}

/* Super+arrow: the keyboard's navigation gesture (a 3-finger swipe of 100 px that way), for machines without a touchpad. */
static bool keyboard_shortcut(struct weft_keyboard *keyboard, uint32_t keycode) {
	struct wlr_keyboard *wlr_keyboard = keyboard->device->keyboard;
	if (!(wlr_keyboard_get_modifiers(wlr_keyboard) & WLR_MODIFIER_LOGO)) {
		return false;
	}
	xkb_keysym_t sym = xkb_state_key_get_one_sym(wlr_keyboard->xkb_state, keycode + 8);
	struct weft_gesture gesture = { .type = WEFT_GESTURE_SWIPE, .fingers = WEFT_SWIPE_MIN_FINGERS };
	switch (sym) {
	case XKB_KEY_Up:
		gesture.dy = -WEFT_SWIPE_THRESHOLD;
		break;
	case XKB_KEY_Down:
		gesture.dy = WEFT_SWIPE_THRESHOLD;
		break;
	case XKB_KEY_Left:
		gesture.dx = -WEFT_SWIPE_THRESHOLD;
		break;
	case XKB_KEY_Right:
		gesture.dx = WEFT_SWIPE_THRESHOLD;
		break;
	default:
		return false;
	}
	layout_navigation_gesture(keyboard->input->server, &gesture);
	return true;
}

static void keyboard_handle_key(struct wl_listener *listener, void *data) {
	struct weft_keyboard *keyboard = wl_container_of(listener, keyboard, key);
	struct wlr_event_keyboard_key *event = data;
	struct wlr_seat *seat = keyboard->input->server->seat;
	uint32_t keycode = event->keycode;
	bool tracked = keycode <= KEY_MAX;
	uint8_t bit = (uint8_t)(1u << (keycode % 8));

	if (event->state == WL_KEYBOARD_KEY_STATE_PRESSED && tracked && keyboard_shortcut(keyboard, keycode)) {
		keyboard->consumed[keycode / 8] |= bit;
		return;
	}
	if (event->state == WL_KEYBOARD_KEY_STATE_RELEASED && tracked && (keyboard->consumed[keycode / 8] & bit)) {
		keyboard->consumed[keycode / 8] &= (uint8_t)~bit;
		return;
	}
	wlr_seat_set_keyboard(seat, keyboard->device);
	wlr_seat_keyboard_notify_key(seat, event->time_msec, keycode, event->state);
}

static void keyboard_handle_destroy(struct wl_listener *listener, void *data) {
	struct weft_keyboard *keyboard = wl_container_of(listener, keyboard, destroy);
	struct weft_input *input = keyboard->input;
	if (input->test_keyboard == keyboard->device) {
		input->test_keyboard = NULL;
	}
	wl_list_remove(&keyboard->modifiers.link);
	wl_list_remove(&keyboard->key.link);
	wl_list_remove(&keyboard->destroy.link);
	wl_list_remove(&keyboard->link);
	free(keyboard);
	input_update_capabilities(input);
}

static void input_add_keyboard(struct weft_input *input, struct wlr_input_device *device) {
	struct weft_keyboard *keyboard = calloc(1, sizeof(*keyboard));
	if (keyboard == NULL) {
		wlr_log(WLR_ERROR, "out of memory: ignoring keyboard %s", device->name);
		return;
	}
	if (!wlr_keyboard_set_keymap(device->keyboard, input->keymap)) {
		wlr_log(WLR_ERROR, "unable to give keyboard %s the keymap: ignoring it", device->name);
		free(keyboard);
		return;
	}
	wlr_keyboard_set_repeat_info(device->keyboard, WEFT_REPEAT_RATE, WEFT_REPEAT_DELAY);
	keyboard->input = input;
	keyboard->device = device;
	keyboard->modifiers.notify = keyboard_handle_modifiers;
	wl_signal_add(&device->keyboard->events.modifiers, &keyboard->modifiers);
	keyboard->key.notify = keyboard_handle_key;
	wl_signal_add(&device->keyboard->events.key, &keyboard->key);
	keyboard->destroy.notify = keyboard_handle_destroy;
	wl_signal_add(&device->events.destroy, &keyboard->destroy);
	wl_list_insert(&input->keyboards, &keyboard->link);
	wlr_seat_set_keyboard(input->server->seat, device);
}

static void input_handle_new_input(struct wl_listener *listener, void *data) {
	struct weft_input *input = wl_container_of(listener, input, new_input);
	struct wlr_input_device *device = data;
	switch (device->type) {
	case WLR_INPUT_DEVICE_KEYBOARD:
		input_add_keyboard(input, device);
		break;
	case WLR_INPUT_DEVICE_POINTER:
		input_add_pointer(input, device);
		break;
	default:
		wlr_log(WLR_INFO, "ignoring input device %s (touch, tablet and switches are not supported yet)", device->name);
		break;
	}
	input_update_capabilities(input);
}

/* ---- start and stop ------------------------------------------------------------------------------------- */

bool input_init(struct weft_server *server) {
	struct weft_input *input = calloc(1, sizeof(*input));
	if (input == NULL) {
		return false;
	}
	server->input = input;
	input->server = server;
	wl_list_init(&input->keyboards);
	wl_list_init(&input->pointers);

	/* NULL names: libxkbcommon's defaults, overridden by XKB_DEFAULT_RULES/MODEL/LAYOUT/VARIANT/OPTIONS. */
	input->xkb_context = xkb_context_new(XKB_CONTEXT_NO_FLAGS);
	input->keymap = input->xkb_context ? xkb_keymap_new_from_names(input->xkb_context, NULL,
		XKB_KEYMAP_COMPILE_NO_FLAGS) : NULL;
	if (input->keymap == NULL) {
		wlr_log(WLR_ERROR, "unable to compile the XKB keymap: check XKB_DEFAULT_LAYOUT/VARIANT/OPTIONS and that "
			"xkb-data is installed");
		return false;
	}

	input->cursor = wlr_cursor_create();
	if (input->cursor == NULL) {
		return false;
	}
	wlr_cursor_attach_output_layout(input->cursor, server->output_layout);
	/* XCURSOR_THEME/XCURSOR_SIZE like every other compositor; without a theme the cursor is simply not drawn. */
	const char *size = getenv("XCURSOR_SIZE");
	input->cursor_manager = wlr_xcursor_manager_create(getenv("XCURSOR_THEME"), size ? (uint32_t)atoi(size) : 24);
	input->cursor_theme_loaded = input->cursor_manager != NULL && wlr_xcursor_manager_load(input->cursor_manager, 1) &&
		wlr_xcursor_manager_get_xcursor(input->cursor_manager, "left_ptr", 1) != NULL;

	input->pointer_gestures = wlr_pointer_gestures_v1_create(server->wl_display);
	if (input->pointer_gestures == NULL) {
		return false;
	}

	input->cursor_motion.notify = cursor_handle_motion;
	wl_signal_add(&input->cursor->events.motion, &input->cursor_motion);
	input->cursor_motion_absolute.notify = cursor_handle_motion_absolute;
	wl_signal_add(&input->cursor->events.motion_absolute, &input->cursor_motion_absolute);
	input->cursor_button.notify = cursor_handle_button;
	wl_signal_add(&input->cursor->events.button, &input->cursor_button);
	input->cursor_axis.notify = cursor_handle_axis;
	wl_signal_add(&input->cursor->events.axis, &input->cursor_axis);
	input->cursor_frame.notify = cursor_handle_frame;
	wl_signal_add(&input->cursor->events.frame, &input->cursor_frame);
	input->cursor_swipe_begin.notify = cursor_handle_swipe_begin;
	wl_signal_add(&input->cursor->events.swipe_begin, &input->cursor_swipe_begin);
	input->cursor_swipe_update.notify = cursor_handle_swipe_update;
	wl_signal_add(&input->cursor->events.swipe_update, &input->cursor_swipe_update);
	input->cursor_swipe_end.notify = cursor_handle_swipe_end;
	wl_signal_add(&input->cursor->events.swipe_end, &input->cursor_swipe_end);
	input->cursor_pinch_begin.notify = cursor_handle_pinch_begin;
	wl_signal_add(&input->cursor->events.pinch_begin, &input->cursor_pinch_begin);
	input->cursor_pinch_update.notify = cursor_handle_pinch_update;
	wl_signal_add(&input->cursor->events.pinch_update, &input->cursor_pinch_update);
	input->cursor_pinch_end.notify = cursor_handle_pinch_end;
	wl_signal_add(&input->cursor->events.pinch_end, &input->cursor_pinch_end);
	input->cursor_hold_begin.notify = cursor_handle_hold_begin;
	wl_signal_add(&input->cursor->events.hold_begin, &input->cursor_hold_begin);
	input->cursor_hold_end.notify = cursor_handle_hold_end;
	wl_signal_add(&input->cursor->events.hold_end, &input->cursor_hold_end);

	input->request_set_cursor.notify = seat_handle_request_set_cursor;
	wl_signal_add(&server->seat->events.request_set_cursor, &input->request_set_cursor);
	input->new_input.notify = input_handle_new_input;
	wl_signal_add(&server->backend->events.new_input, &input->new_input);

	/*
	 * Keyboard focus is how Wayland decides who may copy (the enter serial) and who may paste (the selection goes
	 * to the focused client), and many clients (wl-clipboard, GTK) wait for a keymap before they go on. The
	 * headless backend has no keyboard of its own, so it gets one virtual keyboard now (announced through
	 * new_input when the backend starts). It has no keys until test input is enabled and drives it.
	 */
	if (server->headless_backend != NULL) {
		input->test_keyboard = wlr_headless_add_input_device(server->headless_backend, WLR_INPUT_DEVICE_KEYBOARD);
		if (input->test_keyboard == NULL) {
			return false;
		}
	}
	return true;
}

/* Before the backend is destroyed: afterwards its devices (and our listeners on them) would be gone under us. */
void input_finish(struct weft_server *server) {
	struct weft_input *input = server->input;
	if (input == NULL) {
		return;
	}
	server->input = NULL;
	input_end_grab(input);
	struct weft_keyboard *keyboard, *keyboard_tmp;
	wl_list_for_each_safe(keyboard, keyboard_tmp, &input->keyboards, link) {
		keyboard_handle_destroy(&keyboard->destroy, NULL);
	}
	struct weft_pointer *pointer, *pointer_tmp;
	wl_list_for_each_safe(pointer, pointer_tmp, &input->pointers, link) {
		pointer_handle_destroy(&pointer->destroy, NULL);
	}
	if (input->cursor != NULL) {
		if (input->new_input.notify != NULL) {
			wl_list_remove(&input->new_input.link);
			wl_list_remove(&input->request_set_cursor.link);
			wl_list_remove(&input->cursor_motion.link);
			wl_list_remove(&input->cursor_motion_absolute.link);
			wl_list_remove(&input->cursor_button.link);
			wl_list_remove(&input->cursor_axis.link);
			wl_list_remove(&input->cursor_frame.link);
			wl_list_remove(&input->cursor_swipe_begin.link);
			wl_list_remove(&input->cursor_swipe_update.link);
			wl_list_remove(&input->cursor_swipe_end.link);
			wl_list_remove(&input->cursor_pinch_begin.link);
			wl_list_remove(&input->cursor_pinch_update.link);
			wl_list_remove(&input->cursor_pinch_end.link);
			wl_list_remove(&input->cursor_hold_begin.link);
			wl_list_remove(&input->cursor_hold_end.link);
		}
		wlr_cursor_destroy(input->cursor); /* detaches every device */
	}
	if (input->cursor_manager != NULL) {
		wlr_xcursor_manager_destroy(input->cursor_manager);
	}
	xkb_keymap_unref(input->keymap);
	xkb_context_unref(input->xkb_context);
	free(input);
}
