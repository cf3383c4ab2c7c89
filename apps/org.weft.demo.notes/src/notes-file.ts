/**
 * The note on disk: `/data/notes.txt`, through wasi:filesystem. The runtime preopens the app's data directory
 * at `/data` when the manifest declares fs:rw:app-data; without that grant there is no `/data`.
 */

import { getDirectories } from "wasi:filesystem/preopens@0.2.12";
import type { Descriptor } from "wasi:filesystem/types@0.2.12";
import { decodeUtf8, encodeUtf8 } from "./utf8.ts";

const DATA_DIRECTORY = "/data";
const NOTES_FILE = "notes.txt";
/** Where a save is written before it replaces the note (docs/app-developer.md, "Saving without losing data"). */
const SAVING_FILE = ".notes.txt.saving";
const READ_CHUNK_BYTES = 64 * 1024;

/** Why a save failed, in words for the UI's status line. */
export class NotesFileError extends Error {}

/** strerror-style text for the wasi:filesystem error codes a save can meet; others are shown by their name. */
const ERROR_TEXT: Record<string, string> = {
  access: "Permission denied",
  "not-permitted": "Operation not permitted",
  "read-only": "Read-only file system",
  "no-entry": "No such file or directory",
  "not-directory": "Not a directory",
  "is-directory": "Is a directory",
  "insufficient-space": "No space left on device",
  quota: "Disk quota exceeded",
  "file-too-large": "File too large",
  io: "Input/output error",
  busy: "Device or resource busy",
  "would-block": "Resource temporarily unavailable",
};

let dataDirectory: Descriptor | null | undefined;

/** The `/data` preopen, looked up once (preopens do not change while the app runs); null when not granted. */
function findDataDirectory(): Descriptor | null {
  if (dataDirectory !== undefined) return dataDirectory;
  dataDirectory = null;
  for (const [descriptor, guestPath] of getDirectories()) {
    if (dataDirectory === null && guestPath.replace(/\/+$/, "") === DATA_DIRECTORY) {
      dataDirectory = descriptor;
    } else {
      descriptor[Symbol.dispose]();
    }
  }
  return dataDirectory;
}

function describe(error: unknown): string {
  const code = error instanceof Error ? error.message : String(error);
  const text = ERROR_TEXT[code];
  return text === undefined ? code : `${text} (${code})`;
}

/** The note's text; empty when the file is missing, unreadable or not UTF-8 (as in the reference). */
export function loadNotes(): string {
  const directory = findDataDirectory();
  if (directory === null) return "";
  let file: Descriptor;
  try {
    file = directory.openAt({ symlinkFollow: true }, NOTES_FILE, {}, { read: true });
  } catch {
    return "";
  }
  try {
    const chunks: Uint8Array[] = [];
    let total = 0;
    for (;;) {
      const [chunk, end] = file.read(READ_CHUNK_BYTES, total);
      if (chunk.length > 0) chunks.push(chunk);
      total += chunk.length;
      if (end || chunk.length === 0) break;
    }
    const bytes = new Uint8Array(total);
    let offset = 0;
    for (const chunk of chunks) {
      bytes.set(chunk, offset);
      offset += chunk.length;
    }
    return decodeUtf8(bytes);
  } catch {
    return "";
  } finally {
    file[Symbol.dispose]();
  }
}

/**
 * Replaces the note with `text`, atomically: the text goes into a file of its own, reaches the disk, and only
 * then is renamed over the note. The note is the old text or the new, never half of either, whenever the session
 * is stopped or killed and even if the machine loses power. @throws NotesFileError
 */
export function saveNotes(text: string): void {
  const directory = findDataDirectory();
  if (directory === null) {
    throw new NotesFileError(`there is no ${DATA_DIRECTORY} directory: the runtime grants it for the fs:rw:app-data capability`);
  }
  let file: Descriptor;
  try {
    file = directory.openAt({}, SAVING_FILE, { create: true, truncate: true }, { write: true });
  } catch (error) {
    throw new NotesFileError(describe(error));
  }
  try {
    const bytes = encodeUtf8(text);
    let written = 0;
    while (written < bytes.length) {
      const count = file.write(bytes.subarray(written), written);
      if (count <= 0) throw new Error("io");
      written += count;
    }
    file.syncData();
  } catch (error) {
    file[Symbol.dispose]();
    removeQuietly(directory, SAVING_FILE);
    throw new NotesFileError(describe(error));
  }
  file[Symbol.dispose]();
  try {
    directory.renameAt(SAVING_FILE, directory, NOTES_FILE);
  } catch (error) {
    removeQuietly(directory, SAVING_FILE);
    throw new NotesFileError(describe(error));
  }
}

function removeQuietly(directory: Descriptor, name: string): void {
  try {
    directory.unlinkFileAt(name);
  } catch {
    // already gone: nothing to clean up
  }
}
