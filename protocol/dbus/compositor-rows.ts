/**
 * org.weft.Compositor1's list replies as records: the fields of a ListWindows row (`a(utsssiiiib)`) and a
 * ListOutputs row (`a(siiii)`) named once, for the compositor that fills them and every client that reads them.
 */

import type { MethodsOf } from "./contract.ts";
import type { Compositor1 } from "./org.weft.Compositor1.ts";

/** Who a Wayland connection is for: the system shell, or an app session. */
export type ClientRole = "shell" | "application";

export interface WindowRow {
  id: number;
  session: bigint;
  role: ClientRole;
  appId: string;
  title: string;
  /** Where the layout placed it, in layout coordinates. */
  x: number;
  y: number;
  width: number;
  height: number;
  focused: boolean;
}

export interface OutputRow {
  name: string;
  x: number;
  y: number;
  width: number;
  height: number;
}

type Methods = MethodsOf<typeof Compositor1>;

export function windowRows(rows: Methods["ListWindows"]["out"]): WindowRow[] {
  return rows.map(([id, session, role, appId, title, x, y, width, height, focused]) => ({
    id,
    session,
    role: role === "shell" ? "shell" : "application",
    appId,
    title,
    x,
    y,
    width,
    height,
    focused,
  }));
}

export function windowTuple(w: WindowRow): Methods["ListWindows"]["out"][number] {
  return [w.id, w.session, w.role, w.appId, w.title, w.x, w.y, w.width, w.height, w.focused];
}

export function outputRows(rows: Methods["ListOutputs"]["out"]): OutputRow[] {
  return rows.map(([name, x, y, width, height]) => ({ name, x, y, width, height }));
}

export function outputTuple(o: OutputRow): Methods["ListOutputs"]["out"][number] {
  return [o.name, o.x, o.y, o.width, o.height];
}
