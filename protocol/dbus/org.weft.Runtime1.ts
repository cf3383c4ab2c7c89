// Made by protocol/dbus/generate.ts from org.weft.Runtime1.xml: edit the XML, then run the generator (protocol.test.ts
// fails while this file is not what it makes).

import { defineInterface } from "./contract.ts";

/** org.weft.Runtime1: org.weft.Runtime1.xml. */
export const Runtime1 = defineInterface<{
  methods: {
    BindUi: { in: [unique_name: string]; out: void };
    Post: { in: [payload: string]; out: void };
    Stop: { in: [reason: string]; out: void };
  };
  signals: {
    Message: [payload: string];
    Ready: [];
    Exited: [status: string, message: string];
  };
  properties: {
    AppId: string;
    SessionId: bigint;
    State: string;
    GrantedCapabilities: string[];
  };
  errors: "AccessDenied" | "QueueFull" | "InvalidArgs" | "NotRunning";
}>({"name":"org.weft.Runtime1","methods":[{"name":"BindUi","inArgs":[{"name":"unique_name","type":"s","annotations":[]}],"outArgs":[],"inSignature":"s","outSignature":"","annotations":[]},{"name":"Post","inArgs":[{"name":"payload","type":"s","annotations":[]}],"outArgs":[],"inSignature":"s","outSignature":"","annotations":[]},{"name":"Stop","inArgs":[{"name":"reason","type":"s","annotations":[]}],"outArgs":[],"inSignature":"s","outSignature":"","annotations":[]}],"properties":[{"name":"AppId","type":"s","access":"read","annotations":[{"name":"org.freedesktop.DBus.Property.EmitsChangedSignal","value":"const"}]},{"name":"SessionId","type":"t","access":"read","annotations":[{"name":"org.freedesktop.DBus.Property.EmitsChangedSignal","value":"const"}]},{"name":"State","type":"s","access":"read","annotations":[]},{"name":"GrantedCapabilities","type":"as","access":"read","annotations":[{"name":"org.freedesktop.DBus.Property.EmitsChangedSignal","value":"const"}]}],"signals":[{"name":"Message","args":[{"name":"payload","type":"s","annotations":[]}],"signature":"s","annotations":[]},{"name":"Ready","args":[],"signature":"","annotations":[]},{"name":"Exited","args":[{"name":"status","type":"s","annotations":[]},{"name":"message","type":"s","annotations":[]}],"signature":"ss","annotations":[]}],"annotations":[]}, "org.weft.Runtime1", ["AccessDenied","QueueFull","InvalidArgs","NotRunning"]);
