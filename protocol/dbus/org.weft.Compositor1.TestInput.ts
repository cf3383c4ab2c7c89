// Made by protocol/dbus/generate.ts from org.weft.Compositor1.TestInput.xml: edit the XML, then run the generator (protocol.test.ts
// fails while this file is not what it makes).

import { defineInterface } from "./contract.ts";

/** org.weft.Compositor1.TestInput: org.weft.Compositor1.TestInput.xml. */
export const Compositor1TestInput = defineInterface<{
  methods: {
    PointerMove: { in: [x: number, y: number]; out: void };
    PointerButton: { in: [button: number, pressed: boolean]; out: void };
    Click: { in: [x: number, y: number]; out: void };
    Key: { in: [keycode: number, pressed: boolean]; out: void };
    TypeText: { in: [text: string]; out: void };
    Swipe: { in: [fingers: number, dx: number, dy: number]; out: void };
  };
  signals: {};
  properties: {};
  errors: "AccessDenied" | "InvalidArgs" | "Failed";
}>({"name":"org.weft.Compositor1.TestInput","methods":[{"name":"PointerMove","inArgs":[{"name":"x","type":"d","annotations":[]},{"name":"y","type":"d","annotations":[]}],"outArgs":[],"inSignature":"dd","outSignature":"","annotations":[]},{"name":"PointerButton","inArgs":[{"name":"button","type":"u","annotations":[]},{"name":"pressed","type":"b","annotations":[]}],"outArgs":[],"inSignature":"ub","outSignature":"","annotations":[]},{"name":"Click","inArgs":[{"name":"x","type":"d","annotations":[]},{"name":"y","type":"d","annotations":[]}],"outArgs":[],"inSignature":"dd","outSignature":"","annotations":[]},{"name":"Key","inArgs":[{"name":"keycode","type":"u","annotations":[]},{"name":"pressed","type":"b","annotations":[]}],"outArgs":[],"inSignature":"ub","outSignature":"","annotations":[]},{"name":"TypeText","inArgs":[{"name":"text","type":"s","annotations":[]}],"outArgs":[],"inSignature":"s","outSignature":"","annotations":[]},{"name":"Swipe","inArgs":[{"name":"fingers","type":"u","annotations":[]},{"name":"dx","type":"d","annotations":[]},{"name":"dy","type":"d","annotations":[]}],"outArgs":[],"inSignature":"udd","outSignature":"","annotations":[]}],"properties":[],"signals":[],"annotations":[]}, "org.weft.Compositor1", ["AccessDenied","InvalidArgs","Failed"]);
