// Made by protocol/dbus/generate.ts from org.weft.FilePortal1.xml: edit the XML, then run the generator (protocol.test.ts
// fails while this file is not what it makes).

import { defineInterface } from "./contract.ts";

/** org.weft.FilePortal1: org.weft.FilePortal1.xml. */
export const FilePortal1 = defineInterface<{
  methods: {
    RegisterGrants: { in: [session_id: bigint, roots: Array<[string, string, boolean]>]; out: void };
    RevokeGrants: { in: [session_id: bigint]; out: void };
    Read: { in: [session_id: bigint, path: string]; out: number };
    Write: { in: [session_id: bigint, path: string, content: number]; out: void };
    List: { in: [session_id: bigint, path: string]; out: Array<[string, string, bigint]> };
    Stat: { in: [session_id: bigint, path: string]; out: [string, bigint, bigint] };
    Remove: { in: [session_id: bigint, path: string]; out: void };
    Mkdir: { in: [session_id: bigint, path: string]; out: void };
  };
  signals: {};
  properties: {
    MaxFileSize: bigint;
  };
  errors: "AccessDenied" | "NotGranted" | "ReadOnly" | "TooLarge" | "InvalidPath" | "NotFound" | "Exists" | "NotEmpty" | "WrongType" | "InvalidArgs" | "InvalidGrant" | "IoError";
}>({"name":"org.weft.FilePortal1","methods":[{"name":"RegisterGrants","inArgs":[{"name":"session_id","type":"t","annotations":[]},{"name":"roots","type":"a(ssb)","annotations":[]}],"outArgs":[],"inSignature":"ta(ssb)","outSignature":"","annotations":[]},{"name":"RevokeGrants","inArgs":[{"name":"session_id","type":"t","annotations":[]}],"outArgs":[],"inSignature":"t","outSignature":"","annotations":[]},{"name":"Read","inArgs":[{"name":"session_id","type":"t","annotations":[]},{"name":"path","type":"s","annotations":[]}],"outArgs":[{"name":"content","type":"h","annotations":[]}],"inSignature":"ts","outSignature":"h","annotations":[]},{"name":"Write","inArgs":[{"name":"session_id","type":"t","annotations":[]},{"name":"path","type":"s","annotations":[]},{"name":"content","type":"h","annotations":[]}],"outArgs":[],"inSignature":"tsh","outSignature":"","annotations":[]},{"name":"List","inArgs":[{"name":"session_id","type":"t","annotations":[]},{"name":"path","type":"s","annotations":[]}],"outArgs":[{"name":"entries","type":"a(sst)","annotations":[]}],"inSignature":"ts","outSignature":"a(sst)","annotations":[]},{"name":"Stat","inArgs":[{"name":"session_id","type":"t","annotations":[]},{"name":"path","type":"s","annotations":[]}],"outArgs":[{"name":"info","type":"(stt)","annotations":[]}],"inSignature":"ts","outSignature":"(stt)","annotations":[]},{"name":"Remove","inArgs":[{"name":"session_id","type":"t","annotations":[]},{"name":"path","type":"s","annotations":[]}],"outArgs":[],"inSignature":"ts","outSignature":"","annotations":[]},{"name":"Mkdir","inArgs":[{"name":"session_id","type":"t","annotations":[]},{"name":"path","type":"s","annotations":[]}],"outArgs":[],"inSignature":"ts","outSignature":"","annotations":[]}],"properties":[{"name":"MaxFileSize","type":"t","access":"read","annotations":[{"name":"org.freedesktop.DBus.Property.EmitsChangedSignal","value":"const"}]}],"signals":[],"annotations":[]}, "org.weft.FilePortal1", ["AccessDenied","NotGranted","ReadOnly","TooLarge","InvalidPath","NotFound","Exists","NotEmpty","WrongType","InvalidArgs","InvalidGrant","IoError"]);
