// Made by protocol/dbus/generate.ts from org.weft.Shell1.xml: edit the XML, then run the generator (protocol.test.ts
// fails while this file is not what it makes).

import { defineInterface } from "./contract.ts";

/** org.weft.Shell1: org.weft.Shell1.xml. */
export const Shell1 = defineInterface<{
  methods: {
    OpenLauncher: { in: []; out: void };
    CloseLauncher: { in: []; out: void };
    ElementRect: { in: [css_selector: string]; out: [x: number, y: number, width: number, height: number] };
    ElementText: { in: [css_selector: string]; out: string };
  };
  signals: {};
  properties: {};
  errors: "AccessDenied" | "NotEnabled" | "InvalidArgs" | "NotFound" | "Failed";
}>({"name":"org.weft.Shell1","methods":[{"name":"OpenLauncher","inArgs":[],"outArgs":[],"inSignature":"","outSignature":"","annotations":[]},{"name":"CloseLauncher","inArgs":[],"outArgs":[],"inSignature":"","outSignature":"","annotations":[]},{"name":"ElementRect","inArgs":[{"name":"css_selector","type":"s","annotations":[]}],"outArgs":[{"name":"x","type":"d","annotations":[]},{"name":"y","type":"d","annotations":[]},{"name":"width","type":"d","annotations":[]},{"name":"height","type":"d","annotations":[]}],"inSignature":"s","outSignature":"dddd","annotations":[]},{"name":"ElementText","inArgs":[{"name":"css_selector","type":"s","annotations":[]}],"outArgs":[{"name":"text","type":"s","annotations":[]}],"inSignature":"s","outSignature":"s","annotations":[]}],"properties":[],"signals":[],"annotations":[]}, "org.weft.Shell1", ["AccessDenied","NotEnabled","InvalidArgs","NotFound","Failed"]);
