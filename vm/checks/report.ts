/**
 * How the in-guest checks report to vm/test: one line per check, `ok   <what>: <figure>` or `FAIL <what>: <figure>`,
 * and a last line `RESULT {json}` with the figures. The first failure ends the script with exit 1.
 */
export class Report {
  readonly figures: Record<string, unknown> = {};

  check(what: string, ok: boolean, figure: string): void {
    console.log(`${ok ? "ok  " : "FAIL"} ${what}: ${figure}`);
    if (!ok) {
      console.log(`RESULT ${JSON.stringify({ ...this.figures, failed: what })}`);
      process.exit(1);
    }
  }

  done(): void {
    console.log(`RESULT ${JSON.stringify(this.figures)}`);
  }
}
