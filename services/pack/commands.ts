/**
 * The weft-pack subcommands (SPEC 3.2, with the defects of SPEC 9 fixed). Each returns its JSON answer and
 * writes its human-readable lines through `out`; cli.ts decides which of the two is printed.
 */

import { existsSync, rmSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { parsePrecompileOutcome, type PrecompileOutcome } from "../../protocol/precompile.ts";
import { bundlePackage, unbundleArchive } from "../common/package/archive.ts";
import { describeCapability } from "../common/package/capabilities.ts";
import { generateKeyPair, readPublicKey, readSecretKey } from "../common/package/keys.ts";
import { checkPackage, readManifest, type Diagnostic } from "../common/package/package-check.ts";
import { appDataDir, installRoot, type Env } from "../common/os/paths.ts";
import { signPackage, verifyPackage } from "../common/package/signing.ts";
import { installPackage, listInstalled, uninstallPackage } from "../common/package/store.ts";
import { loadTrustStore } from "../common/package/trust.ts";
import { CliError, ExitCode, type Command, type CommandContext } from "./cli.ts";
import { buildImage, imagePathsFor, verifyImage } from "./image.ts";
import { assertAppId } from "../../protocol/app-id.ts";

/** The runtime's precompiler, run as a program (weft-pack does not load Wasmtime). */
const PRECOMPILER = join(import.meta.dir, "../runtime/precompile.ts");

const requireDir = (path: string): string => {
  if (!existsSync(path) || !statSync(path).isDirectory()) {
    throw new CliError(ExitCode.rejected, "not-a-directory", `${path} is not a package directory`);
  }
  return path;
};

const positional = (context: CommandContext, index: number): string => context.positionals[index]!;
const option = (context: CommandContext, name: string): string | undefined => {
  const value = context.options[name];
  return typeof value === "string" ? value : undefined;
};

function reportDiagnostics(context: CommandContext, warnings: Diagnostic[]): void {
  for (const w of warnings) context.out.warn(`${w.field}: ${w.message}`);
}

/** Runs the full package check and refuses with every error listed; returns the valid manifest. */
async function checkedManifest(dir: string, context: CommandContext, refusal: string) {
  const report = await checkPackage(dir);
  reportDiagnostics(context, report.warnings);
  if (report.errors.length > 0 || report.manifest === undefined) {
    throw new CliError(ExitCode.rejected, "invalid-package", refusal, report.errors);
  }
  return report.manifest;
}

/** Loads the manifest or refuses with every problem listed. */
async function manifestOf(dir: string, context: CommandContext) {
  const result = await readManifest(requireDir(dir));
  reportDiagnostics(context, result.warnings);
  if (result.manifest === undefined) {
    throw new CliError(ExitCode.rejected, "invalid-manifest", `${dir}/wapp.toml is not valid`, result.errors);
  }
  return result.manifest;
}

const check: Command = {
  name: "check",
  summary: "validate a package: manifest, paths, component imports against capabilities",
  synopsis: "<dir>",
  description:
    "Checks wapp.toml (required fields, id, semver version, paths inside the package, known capabilities) and the\n" +
    "component (a component, not a core module; exports wasi:cli/run; every weft:app import covered by a declared\n" +
    "capability). Prints OK, or every error at once, each naming its field.",
  options: {},
  positionals: { min: 1, max: 1, names: ["dir"] },
  async run(context) {
    const dir = requireDir(positional(context, 0));
    const report = await checkPackage(dir);
    reportDiagnostics(context, report.warnings);
    if (report.errors.length > 0) {
      throw new CliError(ExitCode.rejected, "invalid-package", `${dir} is not a valid package (${report.errors.length} error(s))`, report.errors);
    }
    context.out.line("OK");
    return { id: report.manifest?.package.id, imports: report.component?.imports ?? [], exports: report.component?.exports ?? [] };
  },
};

const info: Command = {
  name: "info",
  summary: "print a package's manifest, capabilities and signer",
  synopsis: "<dir>",
  description: "Prints the package's id, name, version, description, author, module, UI entry and each capability with what it grants.",
  options: {},
  positionals: { min: 1, max: 1, names: ["dir"] },
  async run(context) {
    const manifest = await manifestOf(positional(context, 0), context);
    const p = manifest.package;
    context.out.line(`id:      ${p.id}`);
    context.out.line(`name:    ${p.name}`);
    context.out.line(`version: ${p.version}`);
    if (p.description !== undefined) context.out.line(`desc:    ${p.description}`);
    if (p.author !== undefined) context.out.line(`author:  ${p.author}`);
    context.out.line(`module:  ${manifest.runtime.module}`);
    context.out.line(`ui:      ${manifest.ui.entry}`);
    const capabilities = p.capabilities.map((c) => ({ name: c.name, meaning: describeCapability(c) }));
    for (const c of capabilities) context.out.line(`cap:     ${c.name}  (${c.meaning})`);
    return {
      id: p.id,
      name: p.name,
      version: p.version,
      description: p.description ?? null,
      author: p.author ?? null,
      module: manifest.runtime.module,
      ui: manifest.ui.entry,
      capabilities,
    };
  },
};

const generateKey: Command = {
  name: "generate-key",
  summary: "create an Ed25519 signing key pair (weft-sign.key, mode 0600, and weft-sign.pub)",
  synopsis: "[<outdir>]",
  description:
    "Writes weft-sign.key (the 32-byte secret seed as hex, created with mode 0600) and weft-sign.pub (the public\n" +
    "key as hex) into <outdir> (default: the current directory). Refuses to overwrite either file.",
  options: {},
  positionals: { min: 0, max: 1, names: ["outdir"] },
  async run(context) {
    const pair = await generateKeyPair(context.positionals[0] ?? ".");
    context.out.line(`private key: ${pair.secretKeyFile}`);
    context.out.line(`public key:  ${pair.publicKeyFile}`);
    return { secretKeyFile: pair.secretKeyFile, publicKeyFile: pair.publicKeyFile, publicKey: pair.publicKeyHex };
  },
};

const sign: Command = {
  name: "sign",
  summary: "sign a package with a secret key (writes signer.pub and signature.sig)",
  synopsis: "<dir> --key <keyfile>",
  description:
    "Checks the package, records the signer's public key in signer.pub, and writes signature.sig: an Ed25519\n" +
    "signature over the SHA-256 of the sorted `path<TAB>sha256` list of every file (the reference scheme).",
  options: { key: { type: "string", valueName: "keyfile", description: "the secret key file (weft-sign.key)" } },
  positionals: { min: 1, max: 1, names: ["dir"] },
  async run(context) {
    const dir = requireDir(positional(context, 0));
    const keyFile = option(context, "key");
    if (keyFile === undefined) throw new CliError(ExitCode.usage, "usage", "missing --key <keyfile> (make one with `weft-pack generate-key`)");
    const secretKey = await readSecretKey(keyFile);
    await checkedManifest(dir, context, "refusing to sign an invalid package: fix these first");
    const result = await signPackage(dir, secretKey);
    context.out.line(`signed: ${result.signatureFile}`);
    return { signatureFile: result.signatureFile, publicKey: result.publicKeyHex };
  },
};

const verify: Command = {
  name: "verify",
  summary: "verify a package's (or an image set's) signature, with a key or the trust store",
  synopsis: "<dir | image.app.img> [--key <pubfile>]",
  description:
    "Recomputes the package digest and checks signature.sig. With --key, against that public key; without, against\n" +
    "the trust store ($XDG_CONFIG_HOME/weft/trusted.d, /etc/weft/trusted.d; revoked.d beside them), naming\n" +
    "what is wrong: unsigned, tampered, untrusted, revoked or malformed. Given an <id>.app.img, verifies the\n" +
    "image set: the signature over its root hash, then every block of the image against that root hash.",
  options: { key: { type: "string", valueName: "pubfile", description: "verify with this public key file instead of the trust store" } },
  positionals: { min: 1, max: 1, names: ["dir"] },
  async run(context) {
    const target = positional(context, 0);
    const keyFile = option(context, "key");
    const trustStore = await loadTrustStore(context.env);
    for (const warning of trustStore.warnings) context.out.warn(warning);

    if (imagePathsFor(target) !== undefined && existsSync(target) && statSync(target).isFile()) {
      // Revoked keys are tried too, so that a revoked signer is named as such rather than as "no key matches".
      const keys =
        keyFile !== undefined
          ? [await readPublicKey(keyFile)]
          : [...trustStore.effectiveTrustedKeys(), ...trustStore.revoked].map((k) => k.publicKey);
      const result = await verifyImage(target, keys);
      if (result.status !== "ok") throw new CliError(ExitCode.rejected, result.status, result.message);
      const revocation = trustStore.revocationOf(result.publicKey);
      if (revocation !== undefined) {
        throw new CliError(ExitCode.rejected, "revoked", `the image is signed by a revoked key (listed in ${revocation.file})`);
      }
      context.out.line(`OK image ${target} root hash ${result.rootHash}`);
      return { image: target, rootHash: result.rootHash, signer: Buffer.from(result.publicKey).toString("hex") };
    }

    const dir = requireDir(target);
    const outcome =
      keyFile !== undefined
        ? await verifyPackage(dir, { publicKey: await readPublicKey(keyFile), trustStore })
        : await verifyPackage(dir, { trustStore });
    if (outcome.status !== "trusted") {
      throw new CliError(ExitCode.rejected, outcome.status, outcome.status === "tampered" && keyFile !== undefined ? `INVALID signature: ${outcome.message}` : outcome.message);
    }
    context.out.line("OK");
    return { signer: outcome.signer };
  },
};

const install: Command = {
  name: "install",
  summary: "verify and install a package directory or .app.tar.zst bundle, atomically",
  synopsis: "<dir | bundle.app.tar.zst> [--allow-untrusted] [--accept-capabilities] [--allow-downgrade]",
  description:
    "Copies the package into a staging directory in the store, checks it, verifies its signature against the trust\n" +
    "store, and renames it into place ($WEFT_APP_STORE, else $XDG_DATA_HOME/weft/apps): an interrupted install\n" +
    "leaves the old version or the new one, never a mix. Shows the capabilities it grants. An upgrade that asks for\n" +
    "new capabilities, or a downgrade, is refused unless you say so. Then compiles the component for this\n" +
    "machine's Wasmtime (when libwasmtime.so is built), so the first launch does not have to.",
  options: {
    "allow-untrusted": { type: "boolean", description: "DEVELOPMENT ONLY: install unsigned, untrusted or modified packages (never revoked ones)" },
    "accept-capabilities": { type: "boolean", description: "allow an upgrade that asks for capabilities the installed version did not have" },
    "allow-downgrade": { type: "boolean", description: "allow installing an older version over a newer one" },
  },
  positionals: { min: 1, max: 1, names: ["path"] },
  async run(context) {
    const source = positional(context, 0);
    const allowUntrusted = context.options["allow-untrusted"] === true;
    const trustStore = await loadTrustStore(context.env);
    for (const warning of trustStore.warnings) context.out.warn(warning);
    const result = await installPackage({
      source,
      root: installRoot(context.env),
      trustStore,
      allowUntrusted,
      acceptCapabilities: context.options["accept-capabilities"] === true,
      allowDowngrade: context.options["allow-downgrade"] === true,
    });
    reportDiagnostics(context, result.warnings);
    if (result.verification.status !== "trusted") {
      context.out.warn(
        `!!! --allow-untrusted: installed ${result.id} although its signature is not trusted (${result.verification.status}): ` +
          `${result.verification.message}. Do not do this outside development.`,
      );
    }
    const from = result.previousVersion === undefined ? "" : ` (was ${result.previousVersion})`;
    context.out.line(`installed ${result.id} ${result.version}${from} -> ${result.dir}`);
    if (result.verification.status === "trusted") context.out.line(`signed by ${result.verification.signer.file}`);
    if (result.capabilities.length === 0) context.out.line("capabilities: none");
    else {
      context.out.line("capabilities granted:");
      const width = Math.max(...result.capabilities.map((c) => c.name.length));
      for (const c of result.capabilities) {
        const added = result.previousVersion !== undefined && result.addedCapabilities.includes(c.name) ? "  [new]" : "";
        context.out.line(`  ${c.name.padEnd(width)}  ${c.meaning}${added}`);
      }
    }
    const precompiled = await precompile(result.id, context.env);
    if ("skipped" in precompiled) context.out.warn(`not precompiled: ${precompiled.skipped}`);
    else context.out.line(`compiled for this Wasmtime in ${Math.round(precompiled.milliseconds)} ms`);
    return {
      precompiled: "skipped" in precompiled ? null : precompiled.file,
      id: result.id,
      version: result.version,
      previousVersion: result.previousVersion ?? null,
      dir: result.dir,
      capabilities: result.capabilities,
      addedCapabilities: result.addedCapabilities,
      verification:
        result.verification.status === "trusted"
          ? { status: "trusted", signer: result.verification.signer }
          : result.verification,
    };
  },
};

const uninstall: Command = {
  name: "uninstall",
  summary: "remove an installed package (its data stays unless --purge-data)",
  synopsis: "<app_id> [--purge-data]",
  description: "Removes <app_id> from the install root. The app's data directory is kept unless --purge-data is given.",
  options: { "purge-data": { type: "boolean", description: "also delete the app's data directory" } },
  positionals: { min: 1, max: 1, names: ["app_id"] },
  async run(context) {
    const appId = assertAppId(positional(context, 0));
    const dir = await uninstallPackage(appId, installRoot(context.env));
    let purged: string | null = null;
    if (context.options["purge-data"] === true) {
      purged = appDataDir(appId, context.env);
      rmSync(purged, { recursive: true, force: true });
    }
    context.out.line(`uninstalled ${appId}`);
    if (purged !== null) context.out.line(`removed data ${purged}`);
    return { id: appId, dir, purgedData: purged };
  },
};

const list: Command = {
  name: "list",
  summary: "list installed packages in every store root",
  synopsis: "",
  description: "Lists `<id>  <name>  <version>` for every package in the store roots, the first root winning for an id.",
  options: {},
  positionals: { min: 0, max: 0, names: [] },
  async run(context) {
    const { packages, problems } = await listInstalled(context.env);
    for (const p of problems) context.out.warn(`skipped ${p.dir}: ${p.message}`);
    if (packages.length === 0) context.out.line("no packages installed");
    for (const p of packages) context.out.line(`${p.id}  ${p.name}  ${p.version}`);
    return { packages, problems };
  },
};

const bundle: Command = {
  name: "bundle",
  summary: "pack a package directory into <id>.app.tar.zst",
  synopsis: "<dir> [--out <outdir>]",
  description: "Writes <outdir>/<id>.app.tar.zst: a tar with one top-level directory <id>/, compressed with zstd. Reproducible.",
  options: { out: { type: "string", valueName: "outdir", description: "directory for the bundle (default: current directory)" } },
  positionals: { min: 1, max: 1, names: ["dir"] },
  async run(context) {
    const dir = positional(context, 0);
    const manifest = await manifestOf(dir, context);
    const outFile = resolve(option(context, "out") ?? ".", `${manifest.package.id}.app.tar.zst`);
    await bundlePackage(dir, manifest.package.id, outFile);
    context.out.line(`bundled: ${outFile}`);
    return { bundle: outFile, id: manifest.package.id };
  },
};

const unbundle: Command = {
  name: "unbundle",
  summary: "unpack a .app.tar.zst bundle, refusing entries that would land outside",
  synopsis: "<bundle> [--out <dir>]",
  description:
    "Extracts the bundle into <dir>/<id> (default: the current directory). Entries with absolute paths, `..`,\n" +
    "links or special files are refused, and nothing is written unless the whole bundle is sound.",
  options: { out: { type: "string", valueName: "dir", description: "directory to extract into (default: current directory)" } },
  positionals: { min: 1, max: 1, names: ["bundle"] },
  async run(context) {
    const archive = positional(context, 0);
    const outDir = option(context, "out") ?? ".";
    const result = await unbundleArchive(archive, outDir);
    context.out.line(`unbundled: ${archive} -> ${result.dir}`);
    return { dir: result.dir, id: result.id };
  },
};

const buildImageCommand: Command = {
  name: "build-image",
  summary: "build a signed EROFS image with its dm-verity hash tree and root hash",
  synopsis: "<dir> --key <keyfile> [--out <outdir>]",
  description:
    "Builds <id>.app.img (EROFS, mkfs.erofs), <id>.app.hash (dm-verity tree, veritysetup format),\n" +
    "<id>.app.roothash and <id>.app.sig (the package key's signature over the root hash) in <outdir>.\n" +
    "The package must be valid and signed with the same key. Verify the set with `weft-pack verify <id>.app.img`.",
  options: {
    key: { type: "string", valueName: "keyfile", description: "the secret key the package was signed with" },
    out: { type: "string", valueName: "outdir", description: "directory for the image set (default: current directory)" },
  },
  positionals: { min: 1, max: 1, names: ["dir"] },
  async run(context) {
    const dir = requireDir(positional(context, 0));
    const keyFile = option(context, "key");
    if (keyFile === undefined) throw new CliError(ExitCode.usage, "usage", "missing --key <keyfile>: the image's root hash is signed with the package's key");
    const secretKey = await readSecretKey(keyFile);
    const manifest = await checkedManifest(dir, context, `${dir} is not a valid package`);
    const outcome = await verifyPackage(dir, { secretKey });
    if (outcome.status !== "trusted") {
      throw new CliError(ExitCode.rejected, outcome.status, `sign the package with this key first (weft-pack sign ${dir} --key ${keyFile}): ${outcome.message}`);
    }
    const outDir = option(context, "out") ?? ".";
    const result = await buildImage(dir, manifest.package.id, secretKey, outDir);
    context.out.line(`image:     ${result.image}`);
    context.out.line(`hash tree: ${result.hashTree}`);
    context.out.line(`root hash: ${result.rootHash}`);
    context.out.line(`roothash:  ${result.rootHashFile}`);
    context.out.line(`signature: ${result.signature}`);
    return { ...result };
  },
};

export const commands: Command[] = [check, info, generateKey, sign, verify, install, uninstall, list, bundle, unbundle, buildImageCommand];

/** Compiles an installed app for this machine's Wasmtime, in the runtime's precompiler (protocol/precompile.ts). */
async function precompile(appId: string, env: Env): Promise<PrecompileOutcome> {
  const child = Bun.spawn([process.execPath, PRECOMPILER, appId], { env: env as Record<string, string>, stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  if (code !== 0) return { skipped: `the precompiler failed (exit ${code}): ${stderr.trim().split("\n").at(-1)?.slice(0, 300) ?? ""}` };
  try {
    return parsePrecompileOutcome(stdout.trim());
  } catch (error) {
    return { skipped: (error as Error).message };
  }
}
