// Made by protocol/dbus/generate.ts: every D-Bus contract of WEFT, typed (contract.ts says what each holds).

export { Notifications } from "./org.freedesktop.Notifications.ts";
export { AppD1Session } from "./org.weft.AppD1.Session.ts";
export { AppD1 } from "./org.weft.AppD1.ts";
export { AppShell1Inspect } from "./org.weft.AppShell1.Inspect.ts";
export { AppShell1 } from "./org.weft.AppShell1.ts";
export { Compositor1TestInput } from "./org.weft.Compositor1.TestInput.ts";
export { Compositor1 } from "./org.weft.Compositor1.ts";
export { FilePortal1 } from "./org.weft.FilePortal1.ts";
export { Runtime1 } from "./org.weft.Runtime1.ts";
export { Shell1 } from "./org.weft.Shell1.ts";
export { Test1 } from "./org.weft.Test1.ts";
export { errorName, type Endpoint, type ErrorsOf, type InterfaceContract, type MethodsOf, type PropertiesOf, type SignalsOf, type Variant } from "./contract.ts";
export { outputRows, outputTuple, windowRows, windowTuple, type ClientRole, type OutputRow, type WindowRow } from "./compositor-rows.ts";
export { AppD, AppShell, Compositor, FilePortal, Notifications as NotificationsService, Runtime, Shell, Test } from "./names.ts";
