/**
 * The limits a session's IPC keeps, shared by every process that carries it (the page's bridge in the app-shell,
 * the session channel, the runtime and the guest's weft:app/ipc, appd's stop): one number each, here.
 * protocol/wit/weft-app.wit and protocol/dbus/org.weft.Runtime1.xml state them to app developers and callers.
 */

/** Largest IPC payload in either direction, in UTF-16 units (the guest's and the page's strings). */
export const MAX_PAYLOAD_LENGTH = 1024 * 1024;

/** Messages for the guest that it has not read yet; the reference relay's queue size (SPEC 2.2.5). */
export const MAX_INBOUND = 64;

/** Messages from the guest waiting for a UI end to be bound. */
export const MAX_HELD_OUTBOUND = 256;

/** Longest `recv-wait` a guest may ask for; it calls again after a timeout. */
export const MAX_RECV_WAIT_MS = 60_000;

/** How long a stopping guest may go on with the message it is handling before it is interrupted. */
export const GUEST_FINISH_GRACE_MS = 2_000;
