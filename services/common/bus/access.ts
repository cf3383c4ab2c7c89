/**
 * Caller checks shared by the services. The caller's identity comes from the bus (GetConnectionCredentials),
 * never from an argument.
 */

import type { ErrorsOf, InterfaceContract } from "../../../protocol/dbus/contract.ts";
import { BusError } from "./errors.ts";
import type { CallContext } from "./service.ts";

/**
 * Refuses a caller that does not run as this process's own uid with the contract's `AccessDenied` error
 * (logged). On a user's bus that admits every client of the user; a private bus admits WEFT's own processes.
 */
export async function requireSameUid<C extends InterfaceContract<any>>(ctx: CallContext, contract: "AccessDenied" extends ErrorsOf<C> ? C : never): Promise<void> {
  const { uid } = await ctx.credentials();
  const own = process.getuid!();
  if (uid !== own) {
    ctx.log.warn("refused a call from another user", { uid, member: ctx.member });
    throw new BusError(`${contract.errorDomain}.Error.AccessDenied`, `${ctx.member} is for clients running as uid ${own}`);
  }
}
