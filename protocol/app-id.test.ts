import { describe, expect, test } from "bun:test";
import { appIdProblem, assertAppId, InvalidAppIdError, isValidAppId, MAX_APP_ID_LENGTH } from "./app-id.ts";

describe("app ids", () => {
  test.each(["org.weft.demo.counter", "a.b.c", "com.example9.app2"])("accepts %p", (id) => {
    expect(isValidAppId(id)).toBe(true);
  });

  test.each([
    ["", "is empty"],
    ["org.weft", "three"],
    ["org..weft.app", "empty segment"],
    ["Org.weft.app", "Org"],
    ["org.weft.my-app", "my-app"],
    ["org.weft.my_app", "my_app"],
    ["org.weft.9app", "9app"],
    ["../../etc.passwd.x", "empty segment"],
    ["org.weft/../x.y", "weft/"],
    ["org.weft.app\0", "app\\u0000"],
    ["org.weft.app ", "app "],
    ["a.b." + "c".repeat(MAX_APP_ID_LENGTH), "longer"],
  ])("rejects %p, naming the problem", (id, fragment) => {
    expect(appIdProblem(id)).toContain(fragment);
    expect(() => assertAppId(id)).toThrow(InvalidAppIdError);
  });
});
