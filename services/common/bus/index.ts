/**
 * The WEFT D-Bus service kit. See docs/dbus-kit.md.
 *
 * Test fixtures (`startPrivateBus`, `busctl`, `expectIntrospectionMatchesContract`) are in `./testing.ts`,
 * kept out of this entry point so services do not load them.
 */
export { connectBus, BusConnection, DEFAULT_CALL_TIMEOUT_MS } from "./connection.ts";
export type { CallOptions, CallRequest, ConnectOptions, ServiceClient, SignalRule, Subscription, WaitOptions } from "./connection.ts";
export { resolveBusAddress, parseBusAddress } from "./address.ts";
export type { BusKind, BusAddressOptions } from "./address.ts";
export { contractPath, loadContract, parseContract, pickInterface, objectPathForName } from "../../../protocol/dbus/parse.ts";
export type { Contract, ContractInterface, ContractMethod, ContractProperty, ContractSignal, ContractArg } from "../../../protocol/dbus/parse.ts";
export type { CallContext, ExportOptions, ExportedService, MethodHandler, PropertyHandler, ServiceHandlers } from "./service.ts";
export type { CallerCredentials } from "./credentials.ts";
export { BusError, busError, isBusError, ErrorNames } from "./errors.ts";
export { requireSameUid } from "./access.ts";
export { closeFd, dupFd } from "./libc.ts";
export { Variant } from "dbus-next";
export type { BusProxy, Handlers, Served } from "./typed.ts";
