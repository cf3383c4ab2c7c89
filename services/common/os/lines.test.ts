import { expect, test } from "bun:test";
import { forEachLine } from "./lines.ts";

test("lines split across chunks, multi-byte characters split across chunks, and a last line without newline", async () => {
  const bytes = new TextEncoder().encode("one\ntw€o\nthree");
  const chunks = [bytes.subarray(0, 2), bytes.subarray(2, 7), bytes.subarray(7)]; // "€" is cut between chunks
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk);
      controller.close();
    },
  });
  const lines: string[] = [];
  await forEachLine(stream, (line) => lines.push(line));
  expect(lines).toEqual(["one", "tw€o", "three"]);
});
