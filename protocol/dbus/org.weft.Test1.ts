// Made by protocol/dbus/generate.ts from org.weft.Test1.xml: edit the XML, then run the generator (protocol.test.ts
// fails while this file is not what it makes).

import { defineInterface, type Variant } from "./contract.ts";

/** org.weft.Test1: org.weft.Test1.xml. */
export const Test1 = defineInterface<{
  methods: {
    Echo: { in: [text: string]; out: string };
    EchoBytes: { in: [data: Uint8Array]; out: Uint8Array };
    Mix: { in: [count: number, names: string[], options: Record<string, Variant>]; out: [total: bigint, joined: string, keys: string[]] };
    Fail: { in: [name: string, message: string]; out: void };
    Crash: { in: []; out: void };
    Never: { in: []; out: void };
    ReadFd: { in: [fd: number]; out: string };
    OpenFd: { in: [content: string]; out: number };
    WhoAmI: { in: []; out: [sender: string, uid: number, pid: number] };
    Ping: { in: [text: string]; out: void };
  };
  signals: {
    Pinged: [text: string];
  };
  properties: {
    Version: string;
    Counter: number;
    Secret: string;
  };
  errors: "Negative";
}>({"name":"org.weft.Test1","methods":[{"name":"Echo","inArgs":[{"name":"text","type":"s","annotations":[]}],"outArgs":[{"name":"echoed","type":"s","annotations":[]}],"inSignature":"s","outSignature":"s","annotations":[]},{"name":"EchoBytes","inArgs":[{"name":"data","type":"ay","annotations":[]}],"outArgs":[{"name":"echoed","type":"ay","annotations":[]}],"inSignature":"ay","outSignature":"ay","annotations":[]},{"name":"Mix","inArgs":[{"name":"count","type":"i","annotations":[]},{"name":"names","type":"as","annotations":[]},{"name":"options","type":"a{sv}","annotations":[]}],"outArgs":[{"name":"total","type":"x","annotations":[]},{"name":"joined","type":"s","annotations":[]},{"name":"keys","type":"as","annotations":[]}],"inSignature":"iasa{sv}","outSignature":"xsas","annotations":[]},{"name":"Fail","inArgs":[{"name":"name","type":"s","annotations":[]},{"name":"message","type":"s","annotations":[]}],"outArgs":[],"inSignature":"ss","outSignature":"","annotations":[]},{"name":"Crash","inArgs":[],"outArgs":[],"inSignature":"","outSignature":"","annotations":[]},{"name":"Never","inArgs":[],"outArgs":[],"inSignature":"","outSignature":"","annotations":[]},{"name":"ReadFd","inArgs":[{"name":"fd","type":"h","annotations":[]}],"outArgs":[{"name":"content","type":"s","annotations":[]}],"inSignature":"h","outSignature":"s","annotations":[]},{"name":"OpenFd","inArgs":[{"name":"content","type":"s","annotations":[]}],"outArgs":[{"name":"fd","type":"h","annotations":[]}],"inSignature":"s","outSignature":"h","annotations":[]},{"name":"WhoAmI","inArgs":[],"outArgs":[{"name":"sender","type":"s","annotations":[]},{"name":"uid","type":"u","annotations":[]},{"name":"pid","type":"u","annotations":[]}],"inSignature":"","outSignature":"suu","annotations":[]},{"name":"Ping","inArgs":[{"name":"text","type":"s","annotations":[]}],"outArgs":[],"inSignature":"s","outSignature":"","annotations":[]}],"properties":[{"name":"Version","type":"s","access":"read","annotations":[]},{"name":"Counter","type":"i","access":"readwrite","annotations":[]},{"name":"Secret","type":"s","access":"write","annotations":[{"name":"org.freedesktop.DBus.Property.EmitsChangedSignal","value":"false"}]}],"signals":[{"name":"Pinged","args":[{"name":"text","type":"s","annotations":[]}],"signature":"s","annotations":[]}],"annotations":[]}, "org.weft.Test1", ["Negative"]);
