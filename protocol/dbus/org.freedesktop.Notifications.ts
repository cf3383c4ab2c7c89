// Made by protocol/dbus/generate.ts from org.freedesktop.Notifications.xml: edit the XML, then run the generator (protocol.test.ts
// fails while this file is not what it makes).

import { defineInterface, type Variant } from "./contract.ts";

/** org.freedesktop.Notifications: org.freedesktop.Notifications.xml. */
export const Notifications = defineInterface<{
  methods: {
    Notify: { in: [app_name: string, replaces_id: number, app_icon: string, summary: string, body: string, actions: string[], hints: Record<string, Variant>, expire_timeout: number]; out: number };
    CloseNotification: { in: [id: number]; out: void };
    GetCapabilities: { in: []; out: string[] };
    GetServerInformation: { in: []; out: [name: string, vendor: string, version: string, spec_version: string] };
  };
  signals: {
    NotificationClosed: [id: number, reason: number];
  };
  properties: {};
  errors: "InvalidArgs" | "NotFound";
}>({"name":"org.freedesktop.Notifications","methods":[{"name":"Notify","inArgs":[{"name":"app_name","type":"s","annotations":[]},{"name":"replaces_id","type":"u","annotations":[]},{"name":"app_icon","type":"s","annotations":[]},{"name":"summary","type":"s","annotations":[]},{"name":"body","type":"s","annotations":[]},{"name":"actions","type":"as","annotations":[]},{"name":"hints","type":"a{sv}","annotations":[]},{"name":"expire_timeout","type":"i","annotations":[]}],"outArgs":[{"name":"id","type":"u","annotations":[]}],"inSignature":"susssasa{sv}i","outSignature":"u","annotations":[]},{"name":"CloseNotification","inArgs":[{"name":"id","type":"u","annotations":[]}],"outArgs":[],"inSignature":"u","outSignature":"","annotations":[]},{"name":"GetCapabilities","inArgs":[],"outArgs":[{"name":"capabilities","type":"as","annotations":[]}],"inSignature":"","outSignature":"as","annotations":[]},{"name":"GetServerInformation","inArgs":[],"outArgs":[{"name":"name","type":"s","annotations":[]},{"name":"vendor","type":"s","annotations":[]},{"name":"version","type":"s","annotations":[]},{"name":"spec_version","type":"s","annotations":[]}],"inSignature":"","outSignature":"ssss","annotations":[]}],"properties":[],"signals":[{"name":"NotificationClosed","args":[{"name":"id","type":"u","annotations":[]},{"name":"reason","type":"u","annotations":[]}],"signature":"uu","annotations":[]}],"annotations":[]}, "org.freedesktop.Notifications", ["InvalidArgs","NotFound"]);
