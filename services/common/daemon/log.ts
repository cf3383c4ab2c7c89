/**
 * Structured logging: one line per event on stderr, `level=info svc=appd msg="…" key=value…` (logfmt), or
 * one JSON object per line when `WEFT_LOG_FORMAT=json`. Under systemd (JOURNAL_STREAM set) each line starts
 * with a syslog priority prefix (`<6>`) so journald records the level.
 *
 * Why not console.log: guest output, diagnostics and machine-readable output must never share a stream;
 * services log to stderr only, CLIs print results to stdout.
 */

export type LogLevel = "debug" | "info" | "warn" | "error";
export type LogFields = Record<string, unknown>;

const levelRank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const syslogPriority: Record<LogLevel, number> = { debug: 7, info: 6, warn: 4, error: 3 };

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every line (e.g. `{ session: 3, app: "org.weft.demo.counter" }`). */
  with(fields: LogFields): Logger;
}

export interface LoggerOptions {
  /** Where lines go; stderr by default. Tests pass a collector. */
  sink?: (line: string) => void;
  /** Lowest level written; `WEFT_LOG_LEVEL` or `info` by default. */
  level?: LogLevel;
  format?: "logfmt" | "json";
}

function parseLevel(value: string | undefined): LogLevel {
  return value === "debug" || value === "info" || value === "warn" || value === "error" ? value : "info";
}

function logfmtValue(value: unknown): string {
  const text =
    value instanceof Error ? value.message : typeof value === "string" ? value : JSON.stringify(value) ?? "undefined";
  return /^[\w.:/@+-]+$/.test(text) ? text : JSON.stringify(text);
}

/** Creates the logger of one service (`svc` names it in every line). */
export function createLogger(service: string, options: LoggerOptions = {}): Logger {
  const sink = options.sink ?? ((line: string) => process.stderr.write(line + "\n"));
  const minimum = levelRank[options.level ?? parseLevel(process.env.WEFT_LOG_LEVEL)];
  const format = options.format ?? (process.env.WEFT_LOG_FORMAT === "json" ? "json" : "logfmt");
  const journal = options.sink === undefined && process.env.JOURNAL_STREAM !== undefined;

  const make = (bound: LogFields): Logger => {
    const write = (level: LogLevel, msg: string, fields?: LogFields) => {
      if (levelRank[level] < minimum) return;
      const all: LogFields = { level, svc: service, msg, ...bound, ...fields };
      let line: string;
      if (format === "json") {
        line = JSON.stringify(all, (_key, v) => (v instanceof Error ? v.message : typeof v === "bigint" ? String(v) : v));
      } else {
        line = Object.entries(all)
          .filter(([, v]) => v !== undefined)
          .map(([k, v]) => `${k}=${logfmtValue(v)}`)
          .join(" ");
      }
      sink(journal ? `<${syslogPriority[level]}>${line}` : line);
    };
    return {
      debug: (msg, fields) => write("debug", msg, fields),
      info: (msg, fields) => write("info", msg, fields),
      warn: (msg, fields) => write("warn", msg, fields),
      error: (msg, fields) => write("error", msg, fields),
      with: (fields) => make({ ...bound, ...fields }),
    };
  };
  return make({});
}
