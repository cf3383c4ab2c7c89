import { describe, expect, test } from "bun:test";
import { compareSemVer, parseSemVer } from "./semver.ts";

const v = (text: string) => {
  const parsed = parseSemVer(text);
  if (parsed === undefined) throw new Error(`bad test version ${text}`);
  return parsed;
};

describe("semver", () => {
  test("orders the SemVer 2.0.0 §11 example chain", () => {
    const chain = [
      "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2", "1.0.0-beta.11",
      "1.0.0-rc.1", "1.0.0", "1.0.1", "1.1.0", "2.0.0",
    ];
    for (let i = 0; i + 1 < chain.length; i++) {
      expect(compareSemVer(v(chain[i]!), v(chain[i + 1]!))).toBe(-1);
      expect(compareSemVer(v(chain[i + 1]!), v(chain[i]!))).toBe(1);
    }
  });

  test("build metadata does not change precedence", () => {
    expect(compareSemVer(v("1.2.3+a"), v("1.2.3+b"))).toBe(0);
  });

  test.each(["1.2", "01.2.3", "1.2.3-", "1.2.3-01", "v1.2.3", " 1.2.3", "1.2.3\n", "99999999999999999999.0.0"])(
    "rejects %p",
    (text) => expect(parseSemVer(text)).toBeUndefined(),
  );
});
