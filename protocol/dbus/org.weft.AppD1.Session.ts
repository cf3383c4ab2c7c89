// Made by protocol/dbus/generate.ts from org.weft.AppD1.Session.xml: edit the XML, then run the generator (protocol.test.ts
// fails while this file is not what it makes).

import { defineInterface } from "./contract.ts";

/** org.weft.AppD1.Session: org.weft.AppD1.Session.xml. */
export const AppD1Session = defineInterface<{
  methods: {};
  signals: {};
  properties: {
    SessionId: bigint;
    AppId: string;
    State: string;
    ExitReason: string;
    RuntimeBusName: string;
    RuntimePid: number;
    UiPid: number;
    Headless: boolean;
    GrantedCapabilities: string[];
    UnitName: string;
    StartedAt: bigint;
    StoppedAt: bigint;
  };
  errors: never;
}>({"name":"org.weft.AppD1.Session","methods":[],"properties":[{"name":"SessionId","type":"t","access":"read","annotations":[{"name":"org.freedesktop.DBus.Property.EmitsChangedSignal","value":"const"}]},{"name":"AppId","type":"s","access":"read","annotations":[{"name":"org.freedesktop.DBus.Property.EmitsChangedSignal","value":"const"}]},{"name":"State","type":"s","access":"read","annotations":[]},{"name":"ExitReason","type":"s","access":"read","annotations":[]},{"name":"RuntimeBusName","type":"s","access":"read","annotations":[{"name":"org.freedesktop.DBus.Property.EmitsChangedSignal","value":"const"}]},{"name":"RuntimePid","type":"u","access":"read","annotations":[]},{"name":"UiPid","type":"u","access":"read","annotations":[]},{"name":"Headless","type":"b","access":"read","annotations":[{"name":"org.freedesktop.DBus.Property.EmitsChangedSignal","value":"const"}]},{"name":"GrantedCapabilities","type":"as","access":"read","annotations":[{"name":"org.freedesktop.DBus.Property.EmitsChangedSignal","value":"const"}]},{"name":"UnitName","type":"s","access":"read","annotations":[]},{"name":"StartedAt","type":"t","access":"read","annotations":[{"name":"org.freedesktop.DBus.Property.EmitsChangedSignal","value":"const"}]},{"name":"StoppedAt","type":"t","access":"read","annotations":[]}],"signals":[],"annotations":[]}, "org.weft.AppD1.Session", []);
