// Made by protocol/dbus/generate.ts from org.weft.AppShell1.xml: edit the XML, then run the generator (protocol.test.ts
// fails while this file is not what it makes).

import { defineInterface } from "./contract.ts";

/** org.weft.AppShell1: org.weft.AppShell1.xml. */
export const AppShell1 = defineInterface<{
  methods: {
    Bound: { in: []; out: void };
  };
  signals: {};
  properties: {
    AppId: string;
    SessionId: bigint;
    State: string;
    ChromiumPid: number;
    Origin: string;
    Inspectable: boolean;
  };
  errors: "AccessDenied";
}>({"name":"org.weft.AppShell1","methods":[{"name":"Bound","inArgs":[],"outArgs":[],"inSignature":"","outSignature":"","annotations":[]}],"properties":[{"name":"AppId","type":"s","access":"read","annotations":[{"name":"org.freedesktop.DBus.Property.EmitsChangedSignal","value":"const"}]},{"name":"SessionId","type":"t","access":"read","annotations":[{"name":"org.freedesktop.DBus.Property.EmitsChangedSignal","value":"const"}]},{"name":"State","type":"s","access":"read","annotations":[]},{"name":"ChromiumPid","type":"u","access":"read","annotations":[{"name":"org.freedesktop.DBus.Property.EmitsChangedSignal","value":"const"}]},{"name":"Origin","type":"s","access":"read","annotations":[{"name":"org.freedesktop.DBus.Property.EmitsChangedSignal","value":"const"}]},{"name":"Inspectable","type":"b","access":"read","annotations":[{"name":"org.freedesktop.DBus.Property.EmitsChangedSignal","value":"const"}]}],"signals":[],"annotations":[]}, "org.weft.AppShell1", ["AccessDenied"]);
