/**
 * In the VM (vm/test): every WEFT service on the user's real bus, as `busctl --user introspect` shows it, equals its
 * contract in protocol/dbus. One line per interface; exit 1 at the first difference, which it names.
 */

import { contractPath, objectPathForName } from "../../services/common/bus/index.ts";
import { expectIntrospectionMatchesContract } from "../../services/common/bus/testing.ts";

/** [bus name, object path, interfaces at that path]. */
const SERVICES: [string, string, string[]][] = [
  ["org.weft.Compositor1", objectPathForName("org.weft.Compositor1"), ["org.weft.Compositor1", "org.weft.Compositor1.TestInput"]],
  ["org.weft.FilePortal1", objectPathForName("org.weft.FilePortal1"), ["org.weft.FilePortal1"]],
  ["org.weft.AppD1", objectPathForName("org.weft.AppD1"), ["org.weft.AppD1"]],
  ["org.weft.Shell1", objectPathForName("org.weft.Shell1"), ["org.weft.Shell1"]],
  ["org.freedesktop.Notifications", "/org/freedesktop/Notifications", ["org.freedesktop.Notifications"]],
];

for (const [destination, path, interfaces] of SERVICES) {
  for (const iface of interfaces) {
    await expectIntrospectionMatchesContract({ address: "user", destination, path, contract: contractPath(iface), interface: iface });
    console.log(`${destination} ${path} ${iface}: equals protocol/dbus/${iface}.xml`);
  }
}
