/**
 * In the VM (vm/test): every WEFT service on the user's real bus, as `busctl --user introspect` shows it, equals its
 * contract in protocol/dbus. One line per interface; exit 1 at the first difference, which it names.
 */

import { AppD, AppD1, Compositor, Compositor1, Compositor1TestInput, FilePortal, FilePortal1, Notifications, NotificationsService, Shell, Shell1, type Endpoint, type InterfaceContract } from "../../protocol/dbus/index.ts";
import { expectIntrospectionMatchesContract } from "../../testing/bus.ts";

/** Each service, and the interfaces at its object. */
const SERVICES: [Endpoint, InterfaceContract<any>[]][] = [
  [Compositor, [Compositor1, Compositor1TestInput]],
  [FilePortal, [FilePortal1]],
  [AppD, [AppD1]],
  [Shell, [Shell1]],
  [NotificationsService, [Notifications]],
];

for (const [{ busName, path }, contracts] of SERVICES) {
  for (const contract of contracts) {
    await expectIntrospectionMatchesContract({ address: "user", destination: busName, path, contract });
    console.log(`${busName} ${path} ${contract.name}: equals protocol/dbus/${contract.name}.xml`);
  }
}
