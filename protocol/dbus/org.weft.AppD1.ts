// Made by protocol/dbus/generate.ts from org.weft.AppD1.xml: edit the XML, then run the generator (protocol.test.ts
// fails while this file is not what it makes).

import { defineInterface, type Variant } from "./contract.ts";

/** org.weft.AppD1: org.weft.AppD1.xml. */
export const AppD1 = defineInterface<{
  methods: {
    Launch: { in: [app_id: string, options: Record<string, Variant>]; out: [session_id: bigint, session_path: string] };
    Terminate: { in: [session_id: bigint]; out: void };
    ListSessions: { in: []; out: Array<[bigint, string, string, string]> };
    ListInstalledApps: { in: []; out: Array<[string, string, string]> };
  };
  signals: {
    SessionStateChanged: [session_id: bigint, state: string, reason: string];
  };
  properties: {};
  errors: "InvalidAppId" | "InvalidArgs" | "NotInstalled" | "InvalidPackage" | "Unsigned" | "Tampered" | "Untrusted" | "Revoked" | "MalformedSignature" | "TooManySessions" | "StartFailed" | "UnitFailed" | "UnknownSession" | "AccessDenied";
}>({"name":"org.weft.AppD1","methods":[{"name":"Launch","inArgs":[{"name":"app_id","type":"s","annotations":[]},{"name":"options","type":"a{sv}","annotations":[]}],"outArgs":[{"name":"session_id","type":"t","annotations":[]},{"name":"session_path","type":"o","annotations":[]}],"inSignature":"sa{sv}","outSignature":"to","annotations":[]},{"name":"Terminate","inArgs":[{"name":"session_id","type":"t","annotations":[]}],"outArgs":[],"inSignature":"t","outSignature":"","annotations":[]},{"name":"ListSessions","inArgs":[],"outArgs":[{"name":"sessions","type":"a(tsso)","annotations":[]}],"inSignature":"","outSignature":"a(tsso)","annotations":[]},{"name":"ListInstalledApps","inArgs":[],"outArgs":[{"name":"apps","type":"a(sss)","annotations":[]}],"inSignature":"","outSignature":"a(sss)","annotations":[]}],"properties":[],"signals":[{"name":"SessionStateChanged","args":[{"name":"session_id","type":"t","annotations":[]},{"name":"state","type":"s","annotations":[]},{"name":"reason","type":"s","annotations":[]}],"signature":"tss","annotations":[]}],"annotations":[]}, "org.weft.AppD1", ["InvalidAppId","InvalidArgs","NotInstalled","InvalidPackage","Unsigned","Tampered","Untrusted","Revoked","MalformedSignature","TooManySessions","StartFailed","UnitFailed","UnknownSession","AccessDenied"]);
