/**
 * UTF-8 for the QuickJS guest, which has no TextEncoder/TextDecoder.
 *
 * encode: a lone surrogate becomes U+FFFD, as TextEncoder does. decode: strict, like Rust's
 * String::from_utf8: overlong forms, surrogates, code points above U+10FFFF and truncated sequences throw.
 */

export class Utf8Error extends Error {}

export function encodeUtf8(text: string): Uint8Array {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    let code = text.charCodeAt(i);
    if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      const low = text.charCodeAt(i + 1);
      if (low >= 0xdc00 && low <= 0xdfff) {
        code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
        i++;
      }
    }
    if (code >= 0xd800 && code <= 0xdfff) code = 0xfffd;
    if (code < 0x80) {
      bytes.push(code);
    } else if (code < 0x800) {
      bytes.push(0xc0 | (code >> 6), 0x80 | (code & 0x3f));
    } else if (code < 0x10000) {
      bytes.push(0xe0 | (code >> 12), 0x80 | ((code >> 6) & 0x3f), 0x80 | (code & 0x3f));
    } else {
      bytes.push(0xf0 | (code >> 18), 0x80 | ((code >> 12) & 0x3f), 0x80 | ((code >> 6) & 0x3f), 0x80 | (code & 0x3f));
    }
  }
  return new Uint8Array(bytes);
}

/** @throws Utf8Error when `bytes` is not valid UTF-8. */
export function decodeUtf8(bytes: Uint8Array): string {
  let text = "";
  let i = 0;
  while (i < bytes.length) {
    const lead = bytes[i]!;
    let length: number;
    let code: number;
    let min: number;
    if (lead < 0x80) {
      length = 1;
      code = lead;
      min = 0;
    } else if (lead >= 0xc2 && lead <= 0xdf) {
      length = 2;
      code = lead & 0x1f;
      min = 0x80;
    } else if (lead >= 0xe0 && lead <= 0xef) {
      length = 3;
      code = lead & 0x0f;
      min = 0x800;
    } else if (lead >= 0xf0 && lead <= 0xf4) {
      length = 4;
      code = lead & 0x07;
      min = 0x10000;
    } else {
      throw new Utf8Error(`invalid UTF-8 lead byte at ${i}`);
    }
    if (i + length > bytes.length) throw new Utf8Error(`truncated UTF-8 sequence at ${i}`);
    for (let k = 1; k < length; k++) {
      const next = bytes[i + k]!;
      if ((next & 0xc0) !== 0x80) throw new Utf8Error(`invalid UTF-8 continuation byte at ${i + k}`);
      code = (code << 6) | (next & 0x3f);
    }
    if (code < min || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) {
      throw new Utf8Error(`invalid UTF-8 code point at ${i}`);
    }
    text += String.fromCodePoint(code);
    i += length;
  }
  return text;
}
