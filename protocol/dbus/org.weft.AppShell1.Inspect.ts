// Made by protocol/dbus/generate.ts from org.weft.AppShell1.Inspect.xml: edit the XML, then run the generator (protocol.test.ts
// fails while this file is not what it makes).

import { defineInterface } from "./contract.ts";

/** org.weft.AppShell1.Inspect: org.weft.AppShell1.Inspect.xml. */
export const AppShell1Inspect = defineInterface<{
  methods: {
    ElementRect: { in: [css_selector: string]; out: [x: number, y: number, width: number, height: number] };
    ElementText: { in: [css_selector: string]; out: string };
  };
  signals: {};
  properties: {};
  errors: "AccessDenied" | "InvalidArgs" | "NotFound" | "Failed";
}>({"name":"org.weft.AppShell1.Inspect","methods":[{"name":"ElementRect","inArgs":[{"name":"css_selector","type":"s","annotations":[]}],"outArgs":[{"name":"x","type":"d","annotations":[]},{"name":"y","type":"d","annotations":[]},{"name":"width","type":"d","annotations":[]},{"name":"height","type":"d","annotations":[]}],"inSignature":"s","outSignature":"dddd","annotations":[]},{"name":"ElementText","inArgs":[{"name":"css_selector","type":"s","annotations":[]}],"outArgs":[{"name":"text","type":"s","annotations":[]}],"inSignature":"s","outSignature":"s","annotations":[]}],"properties":[],"signals":[],"annotations":[]}, "org.weft.AppShell1", ["AccessDenied","InvalidArgs","NotFound","Failed"]);
