/**
 * Where each WEFT service is on the bus: its well-known names and object paths, written here and nowhere else
 * (a test fails when a bus name appears in a service's code).
 */

import type { Endpoint } from "./contract.ts";

/** weft-appd: org.weft.AppD1, and one org.weft.AppD1.Session object per session. */
export const AppD = {
  busName: "org.weft.AppD1",
  path: "/org/weft/AppD1",
  sessionPath: (sessionId: bigint | number): string => `/org/weft/AppD1/sessions/${sessionId}`,
} as const;

/** weft-compositor: org.weft.Compositor1 and, on a test surface, org.weft.Compositor1.TestInput. */
export const Compositor = { busName: "org.weft.Compositor1", path: "/org/weft/Compositor1" } as const;

/** weft-file-portal: org.weft.FilePortal1. */
export const FilePortal = { busName: "org.weft.FilePortal1", path: "/org/weft/FilePortal1" } as const;

/**
 * weft-shell, the system shell: org.weft.Shell1 once it is ready; its role name from the moment it starts (the
 * compositor gives a "shell" connection only to that name's owner); and the notification service.
 */
export const Shell = {
  busName: "org.weft.Shell1",
  path: "/org/weft/Shell1",
  roleName: "org.weft.Shell1.Role",
} as const;

/** The Desktop Notifications service (served by weft-shell). */
export const Notifications = { busName: "org.freedesktop.Notifications", path: "/org/freedesktop/Notifications" } as const;

/** weft-runtime: one process per session, org.weft.Runtime1 on the name of its session. */
export const Runtime = {
  busName: (sessionId: bigint | number): string => `org.weft.Runtime1.S${sessionId}`,
  /** Matches every session's runtime name. */
  busNamePattern: /^org\.weft\.Runtime1\.S(\d+)$/,
  /** The names as a reader should see them in a message. */
  busNameTemplate: "org.weft.Runtime1.S<session_id>",
  path: "/org/weft/Runtime1",
  of: (sessionId: bigint | number): Endpoint => ({ busName: Runtime.busName(sessionId), path: Runtime.path }),
} as const;

/** weft-app-shell: one process per windowed session, org.weft.AppShell1 on the name of its session. */
export const AppShell = {
  busName: (sessionId: bigint | number): string => `org.weft.AppShell1.S${sessionId}`,
  path: "/org/weft/AppShell1",
  of: (sessionId: bigint | number): Endpoint => ({ busName: AppShell.busName(sessionId), path: AppShell.path }),
} as const;

/** The service kit's own test service (org.weft.Test1). */
export const Test = { busName: "org.weft.Test1", path: "/org/weft/Test1" } as const;
