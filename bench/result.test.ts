import { expect, test } from "bun:test";
import { formatTable, median, percentile, result } from "./result.ts";

test("percentiles use the nearest-rank method", () => {
  const samples = [5, 1, 4, 2, 3];
  expect(median(samples)).toBe(3);
  expect(percentile(samples, 100)).toBe(5);
  expect(percentile(samples, 1)).toBe(1);
  expect(samples).toEqual([5, 1, 4, 2, 3]);
  expect(() => percentile([], 50)).toThrow("empty");
});

test("the table shows value, baseline and ratio", () => {
  const table = formatTable([result("verify 50 MB", 120, "ms", "sha256sum", 100)]);
  expect(table).toContain("verify 50 MB");
  expect(table).toContain("sha256sum: 100 ms");
  expect(table).toContain("1.20×");
});
