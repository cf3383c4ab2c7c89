import { expect, test } from "bun:test";
import { parsePrecompileOutcome } from "./precompile.ts";

test("the precompiler's answers are read back", () => {
  expect(parsePrecompileOutcome('{"compiled":true,"file":"/c/x.cwasm","milliseconds":12.5}')).toEqual({ compiled: true, file: "/c/x.cwasm", milliseconds: 12.5 });
  expect(parsePrecompileOutcome('{"skipped":"not built here"}')).toEqual({ skipped: "not built here" });
});

test.each([
  ["", "not JSON"],
  ["compiled", "not JSON"],
  ["[]", "wrong shape"],
  ['{"compiled":"yes","file":"f","milliseconds":1}', "wrong shape"],
  ['{"compiled":true,"file":"f","milliseconds":-1}', "wrong shape"],
  ['{"skipped":"x","extra":1}', "wrong shape"],
  [`{"skipped":"${"x".repeat(5000)}"}`, "wrong shape"],
])("a hostile answer %# is an error naming it, never an outcome", (text, problem) => {
  expect(() => parsePrecompileOutcome(text)).toThrow(problem);
});
