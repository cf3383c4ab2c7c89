/**
 * The command-line frame of weft-pack: a table of subcommands, argument parsing with node:util's strict
 * `parseArgs`, `--help` for every subcommand, `--json` output for scripts, and one mapping from errors to
 * documented exit codes. Subcommands live in commands.ts and return data; this file decides how it is shown.
 */

import { parseArgs } from "node:util";
import { InvalidAppIdError } from "../../protocol/app-id.ts";
import { MissingEnvironmentError, type Env } from "../common/os/paths.ts";
import { StoreError } from "../common/package/store.ts";

/** Exit codes (docs/weft-pack.md lists them too). */
export const ExitCode = {
  ok: 0,
  /** The command ran and the answer is no: invalid package, bad signature, refused install, … */
  rejected: 1,
  /** The command line is wrong: unknown subcommand or option, missing argument. */
  usage: 2,
  /** Something the command needs is missing from the machine: a tool (mkfs.erofs), a variable (HOME). */
  environment: 3,
  /** A bug in weft-pack; the message says what happened. */
  internal: 70,
} as const;

export interface OptionSpec {
  type: "string" | "boolean";
  description: string;
  /** Shown in help as `--key <keyfile>`. */
  valueName?: string;
}

export interface Output {
  /** A line of the human-readable answer (stdout); ignored with --json. */
  line(text: string): void;
  /** A warning: stderr in text mode, collected into `warnings` with --json. */
  warn(text: string): void;
}

export interface CommandContext {
  positionals: string[];
  options: Record<string, string | boolean | undefined>;
  env: Env;
  out: Output;
}

export interface Command {
  name: string;
  summary: string;
  /** Argument synopsis after the command name, e.g. `<dir> --key <keyfile>`. */
  synopsis: string;
  description: string;
  options: Record<string, OptionSpec>;
  positionals: { min: number; max: number; names: string[] };
  /** Returns the JSON answer (`ok` and `command` are added); throws CliError or a typed error to refuse. */
  run(context: CommandContext): Promise<Record<string, unknown>>;
}

/** A refusal with its exit code and a stable machine-readable `code`. */
export class CliError extends Error {
  constructor(
    readonly exitCode: number,
    readonly code: string,
    message: string,
    readonly details: { field: string; message: string }[] = [],
  ) {
    super(message);
    this.name = "CliError";
  }
}

export interface Io {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: Env;
}

const globalOptions: Record<string, OptionSpec> = {
  json: { type: "boolean", description: "print one JSON object on stdout instead of text" },
  help: { type: "boolean", description: "show help for this command" },
};

export function commandHelp(command: Command): string {
  const options = { ...command.options, ...globalOptions };
  const width = Math.max(...Object.entries(options).map(([n, o]) => optionLabel(n, o).length));
  return [
    `usage: weft-pack ${command.name} ${command.synopsis}`.trimEnd(),
    "",
    command.description,
    "",
    "options:",
    ...Object.entries(options).map(([n, o]) => `  ${optionLabel(n, o).padEnd(width)}  ${o.description}`),
    "",
    "exit codes: 0 ok, 1 rejected, 2 usage error, 3 missing tool or environment, 70 internal error",
  ].join("\n");
}

function optionLabel(name: string, spec: OptionSpec): string {
  return spec.type === "string" ? `--${name} <${spec.valueName ?? "value"}>` : `--${name}`;
}

export function mainHelp(commands: Command[]): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    "usage: weft-pack <command> [arguments] [--json] [--help]",
    "",
    "Checks, signs, verifies, installs and bundles WEFT app packages.",
    "",
    "commands:",
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    "",
    "Run `weft-pack <command> --help` for a command's arguments and options.",
    "exit codes: 0 ok, 1 rejected, 2 usage error, 3 missing tool or environment, 70 internal error",
  ].join("\n");
}

/** Runs one weft-pack invocation and returns its exit code; never throws. */
export async function runCli(argv: string[], commands: Command[], io: Io): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    const topic = name === "help" ? commands.find((c) => c.name === rest[0]) : undefined;
    io.stdout((topic ? commandHelp(topic) : mainHelp(commands)) + "\n");
    return name === undefined ? ExitCode.usage : ExitCode.ok;
  }
  const command = commands.find((c) => c.name === name);
  if (command === undefined) {
    io.stderr(`weft-pack: unknown command ${JSON.stringify(name)}; run \`weft-pack --help\` for the list\n`);
    return ExitCode.usage;
  }

  const json = rest.includes("--json");
  const warnings: string[] = [];
  const lines: string[] = [];
  const out: Output = {
    line: (text) => lines.push(text),
    warn: (text) => (json ? warnings.push(text) : io.stderr(`weft-pack: warning: ${text}\n`)),
  };
  const fail = (exitCode: number, code: string, message: string, details: CliError["details"] = []) => {
    if (json) {
      io.stdout(JSON.stringify({ ok: false, command: command.name, error: { code, message, details }, warnings }) + "\n");
    } else {
      io.stderr(`weft-pack ${command.name}: ${message}\n`);
      for (const d of details) io.stderr(`  ${d.field}: ${d.message}\n`);
    }
    return exitCode;
  };

  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: rest,
      options: { ...command.options, ...globalOptions },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    return fail(ExitCode.usage, "usage", `${(error as Error).message}; see \`weft-pack ${command.name} --help\``);
  }
  if (parsed.values.help === true) {
    io.stdout(commandHelp(command) + "\n");
    return ExitCode.ok;
  }
  const { min, max, names } = command.positionals;
  if (parsed.positionals.length < min || parsed.positionals.length > max) {
    const expected = names.length === 0 ? "no arguments" : names.map((n) => `<${n}>`).join(" ");
    return fail(
      ExitCode.usage,
      "usage",
      `expects ${expected}, got ${parsed.positionals.length} argument(s); usage: weft-pack ${command.name} ${command.synopsis}`,
    );
  }

  try {
    const answer = await command.run({
      positionals: parsed.positionals,
      options: parsed.values as CommandContext["options"],
      env: io.env,
      out,
    });
    if (json) io.stdout(JSON.stringify({ ok: true, command: command.name, ...answer, warnings }) + "\n");
    else if (lines.length > 0) io.stdout(lines.join("\n") + "\n");
    return ExitCode.ok;
  } catch (error) {
    if (error instanceof CliError) return fail(error.exitCode, error.code, error.message, error.details);
    if (error instanceof StoreError) return fail(ExitCode.rejected, error.reason, error.message, error.details);
    if (error instanceof InvalidAppIdError) return fail(ExitCode.rejected, "invalid-app-id", error.message);
    if (error instanceof MissingEnvironmentError) return fail(ExitCode.environment, "environment", error.message);
    const code = (error as NodeJS.ErrnoException).code;
    if (typeof code === "string" && /^E[A-Z]+$/.test(code)) {
      // A file-system refusal on a path the user gave (ENOENT, EACCES, …): a rejected input, not a bug.
      return fail(ExitCode.rejected, code, (error as Error).message);
    }
    if (error instanceof Error && error.name !== "Error" && error.name !== "TypeError") {
      // Typed errors from the common modules (signing, archive, manifest) carry user-facing messages.
      return fail(ExitCode.rejected, error.name, error.message);
    }
    return fail(ExitCode.internal, "internal", `internal error: ${(error as Error)?.stack ?? String(error)}`);
  }
}
