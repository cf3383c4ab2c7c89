import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { requireCapability } from "../common/package/capabilities.ts";
import { FetchError, MAX_RESPONSE_BYTES, performFetch } from "./fetch.ts";

let server: ReturnType<typeof Bun.serve>;
let other: ReturnType<typeof Bun.serve>;
const hits: string[] = [];
const otherHits: string[] = [];

beforeAll(() => {
  other = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: (req) => (otherHits.push(new URL(req.url).pathname), new Response("other")) });
  server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(req) {
      const url = new URL(req.url);
      hits.push(`${req.method} ${url.pathname}`);
      switch (url.pathname) {
        case "/json":
          return Response.json({ hello: req.headers.get("x-app") }, { headers: { "content-type": "application/json; charset=utf-8" } });
        case "/echo":
          return new Response(await req.arrayBuffer(), { headers: { "content-type": "application/octet-stream" } });
        case "/missing":
          return new Response("nope", { status: 404 });
        case "/hop":
          return Response.redirect(`http://localhost:${server.port}/json`, 302);
        case "/escape":
          return Response.redirect(`http://127.0.0.1:${other.port}/stolen`, 302);
        case "/loop":
          return Response.redirect(`http://localhost:${server.port}/loop`, 302);
        case "/huge":
          return new Response(new Uint8Array(MAX_RESPONSE_BYTES + 1));
        default:
          return new Response("plain");
      }
    },
  });
});
afterAll(() => {
  server.stop(true);
  other.stop(true);
});

const localhost = () => [requireCapability(`net:fetch:localhost:${server.port}`)];
const get = (path: string, granted = localhost()) => performFetch(granted, { url: `http://localhost:${server.port}${path}`, method: "GET", headers: [] });
async function refusedWith(promise: Promise<unknown>): Promise<FetchError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof FetchError) return error;
    throw error;
  }
  throw new Error("expected the fetch to be refused");
}

describe("weft:app/fetch", () => {
  test("an allowed host answers: status, media type without parameters, body, headers sent", async () => {
    const response = await performFetch(localhost(), { url: `http://localhost:${server.port}/json`, method: "GET", headers: [["x-app", "counter"]] });
    expect(response.status).toBe(200);
    expect(response.contentType).toBe("application/json");
    expect(JSON.parse(new TextDecoder().decode(response.body))).toEqual({ hello: "counter" });
  });

  test("a request body goes out; no content-type means text/plain", async () => {
    const echoed = await performFetch(localhost(), { url: `http://localhost:${server.port}/echo`, method: "POST", headers: [], body: new TextEncoder().encode("ping") });
    expect(new TextDecoder().decode(echoed.body)).toBe("ping");
    expect((await get("/plain")).contentType).toBe("text/plain");
  });

  test("a host the capabilities do not name is refused before any request is made", async () => {
    const before = otherHits.length;
    const error = await refusedWith(performFetch(localhost(), { url: `http://127.0.0.1:${other.port}/x`, method: "GET", headers: [] }));
    expect(error.denied).toBe(true);
    expect(error.message).toContain("needs a capability this app does not declare: net:fetch:*");
    expect(otherHits.length).toBe(before);
    expect((await refusedWith(get("/json", [requireCapability("net:fetch:example.com")]))).denied).toBe(true);
    expect((await refusedWith(get("/json", []))).denied).toBe(true);
  });

  test("a redirect to an allowed host is followed; one to another host is refused and never reached", async () => {
    expect(JSON.parse(new TextDecoder().decode((await get("/hop")).body))).toEqual({ hello: null });
    const before = otherHits.length;
    expect((await refusedWith(get("/escape"))).denied).toBe(true);
    expect(otherHits.length).toBe(before);
    expect((await refusedWith(get("/loop"))).message).toContain("redirects");
  });

  test("HTTP errors, oversized responses, reserved headers and bad methods are errors", async () => {
    expect((await refusedWith(get("/missing"))).message).toContain("HTTP 404");
    expect((await refusedWith(get("/huge"))).message).toContain("larger than");
    for (const header of ["Host", "content-length", "Transfer-Encoding"]) {
      const error = await refusedWith(performFetch(localhost(), { url: `http://localhost:${server.port}/json`, method: "GET", headers: [[header, "x"]] }));
      expect(error.message).toContain("set by the host");
    }
    expect((await refusedWith(performFetch(localhost(), { url: `http://localhost:${server.port}/`, method: "get\r\nX: y", headers: [] }))).message).toContain("not an HTTP method");
    expect((await refusedWith(performFetch(localhost(), { url: "not a url", method: "GET", headers: [] }))).message).toContain("not a URL");
    expect((await refusedWith(performFetch(localhost(), { url: `http://localhost:${server.port}/`, method: "GET", headers: [["x-bad", "a\r\nInjected: 1"]] }))).message).toContain("invalid header");
  });

  test("only http and https: file:// and friends are refused", async () => {
    const any = [requireCapability("net:fetch:*")];
    for (const url of ["file:///etc/passwd", "ftp://localhost/", "data:text/plain,hi"]) {
      expect((await refusedWith(performFetch(any, { url, method: "GET", headers: [] }))).denied).toBe(true);
    }
  });
});

describe("one resolution per hop, and the connection goes where it was checked", () => {
  test("a resolver that answers differently the second time (DNS rebinding) is asked once; Host is the allowed name", async () => {
    // Two servers on one port: the address the check saw (127.0.0.1), and where a rebinding resolver would send
    // a second lookup (127.0.0.2). net:fetch:* allows loopback, so only the pinning is under test here.
    const seen: string[] = [];
    const checked = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: (req) => (seen.push(`checked ${req.headers.get("host")}`), new Response("checked")) });
    const rebound = Bun.serve({ port: checked.port, hostname: "127.0.0.2", fetch: () => (seen.push("rebound"), new Response("rebound")) });
    try {
      let lookups = 0;
      const rebinding = async () => [{ address: ++lookups === 1 ? "127.0.0.1" : "127.0.0.2", family: 4 }];
      const url = `http://rebind.weft.test:${checked.port}/`;
      const response = await performFetch([requireCapability("net:fetch:*")], { url, method: "GET", headers: [] }, rebinding);
      expect(new TextDecoder().decode(response.body)).toBe("checked");
      expect(lookups).toBe(1);
      expect(seen).toEqual([`checked rebind.weft.test:${checked.port}`]);
    } finally {
      checked.stop(true);
      rebound.stop(true);
    }
  });

  test("a name with a private address among its answers is refused, even if the first is public", async () => {
    const mixed = async () => [
      { address: "192.0.2.10", family: 4 },
      { address: "10.0.0.5", family: 4 },
    ];
    const error = await refusedWith(performFetch([requireCapability("net:fetch:mixed.weft.test")], { url: "http://mixed.weft.test/", method: "GET", headers: [] }, mixed));
    expect(error.denied).toBe(true);
    expect(error.message).toContain("10.0.0.5, a local or private address");
  });

  test("an IP address in the URL needs net:fetch:* (no capability names one)", async () => {
    for (const url of ["http://192.0.2.10/", "http://10.1.2.3/", "http://[fd00::1]/", "http://2130706433/"]) {
      const refused = await refusedWith(performFetch([requireCapability("net:fetch:example.com")], { url, method: "GET", headers: [] }));
      expect(refused.denied).toBe(true);
      expect(refused.message).toContain("needs a capability this app does not declare: net:fetch:*");
    }
  });
});
