// Made by protocol/dbus/generate.ts from org.weft.Compositor1.xml: edit the XML, then run the generator (protocol.test.ts
// fails while this file is not what it makes).

import { defineInterface } from "./contract.ts";

/** org.weft.Compositor1: org.weft.Compositor1.xml. */
export const Compositor1 = defineInterface<{
  methods: {
    OpenClient: { in: [role: string, session_id: bigint]; out: number };
    ListOutputs: { in: []; out: Array<[string, number, number, number, number]> };
    ListWindows: { in: []; out: Array<[number, bigint, string, string, string, number, number, number, number, boolean]> };
    FocusSession: { in: [session_id: bigint]; out: void };
    CloseSession: { in: [session_id: bigint]; out: number };
    Screenshot: { in: [output: string]; out: Uint8Array };
    ClipboardGet: { in: [mime: string]; out: number };
    ClipboardSet: { in: [content: number, mime: string]; out: void };
    PrimarySelectionGet: { in: [mime: string]; out: number };
    PrimarySelectionSet: { in: [content: number, mime: string]; out: void };
  };
  signals: {
    WindowMapped: [id: number, session_id: bigint, role: string, app_id: string, title: string];
    WindowChanged: [id: number, session_id: bigint, app_id: string, title: string];
    WindowClosed: [id: number, session_id: bigint];
    FocusChanged: [id: number, session_id: bigint];
    NavigationGesture: [type: number, fingers: number, dx: number, dy: number];
  };
  properties: {};
  errors: "AccessDenied" | "InvalidArgs" | "NotFound" | "Failed" | "NotOffered" | "TooLarge" | "TimedOut";
}>({"name":"org.weft.Compositor1","methods":[{"name":"OpenClient","inArgs":[{"name":"role","type":"s","annotations":[]},{"name":"session_id","type":"t","annotations":[]}],"outArgs":[{"name":"fd","type":"h","annotations":[]}],"inSignature":"st","outSignature":"h","annotations":[]},{"name":"ListOutputs","inArgs":[],"outArgs":[{"name":"outputs","type":"a(siiii)","annotations":[]}],"inSignature":"","outSignature":"a(siiii)","annotations":[]},{"name":"ListWindows","inArgs":[],"outArgs":[{"name":"windows","type":"a(utsssiiiib)","annotations":[]}],"inSignature":"","outSignature":"a(utsssiiiib)","annotations":[]},{"name":"FocusSession","inArgs":[{"name":"session_id","type":"t","annotations":[]}],"outArgs":[],"inSignature":"t","outSignature":"","annotations":[]},{"name":"CloseSession","inArgs":[{"name":"session_id","type":"t","annotations":[]}],"outArgs":[{"name":"asked","type":"u","annotations":[]}],"inSignature":"t","outSignature":"u","annotations":[]},{"name":"Screenshot","inArgs":[{"name":"output","type":"s","annotations":[]}],"outArgs":[{"name":"png","type":"ay","annotations":[]}],"inSignature":"s","outSignature":"ay","annotations":[]},{"name":"ClipboardGet","inArgs":[{"name":"mime","type":"s","annotations":[]}],"outArgs":[{"name":"content","type":"h","annotations":[]}],"inSignature":"s","outSignature":"h","annotations":[]},{"name":"ClipboardSet","inArgs":[{"name":"content","type":"h","annotations":[]},{"name":"mime","type":"s","annotations":[]}],"outArgs":[],"inSignature":"hs","outSignature":"","annotations":[]},{"name":"PrimarySelectionGet","inArgs":[{"name":"mime","type":"s","annotations":[]}],"outArgs":[{"name":"content","type":"h","annotations":[]}],"inSignature":"s","outSignature":"h","annotations":[]},{"name":"PrimarySelectionSet","inArgs":[{"name":"content","type":"h","annotations":[]},{"name":"mime","type":"s","annotations":[]}],"outArgs":[],"inSignature":"hs","outSignature":"","annotations":[]}],"properties":[],"signals":[{"name":"WindowMapped","args":[{"name":"id","type":"u","annotations":[]},{"name":"session_id","type":"t","annotations":[]},{"name":"role","type":"s","annotations":[]},{"name":"app_id","type":"s","annotations":[]},{"name":"title","type":"s","annotations":[]}],"signature":"utsss","annotations":[]},{"name":"WindowChanged","args":[{"name":"id","type":"u","annotations":[]},{"name":"session_id","type":"t","annotations":[]},{"name":"app_id","type":"s","annotations":[]},{"name":"title","type":"s","annotations":[]}],"signature":"utss","annotations":[]},{"name":"WindowClosed","args":[{"name":"id","type":"u","annotations":[]},{"name":"session_id","type":"t","annotations":[]}],"signature":"ut","annotations":[]},{"name":"FocusChanged","args":[{"name":"id","type":"u","annotations":[]},{"name":"session_id","type":"t","annotations":[]}],"signature":"ut","annotations":[]},{"name":"NavigationGesture","args":[{"name":"type","type":"u","annotations":[]},{"name":"fingers","type":"u","annotations":[]},{"name":"dx","type":"d","annotations":[]},{"name":"dy","type":"d","annotations":[]}],"signature":"uudd","annotations":[]}],"annotations":[]}, "org.weft.Compositor1", ["AccessDenied","InvalidArgs","NotFound","Failed","NotOffered","TooLarge","TimedOut"]);
