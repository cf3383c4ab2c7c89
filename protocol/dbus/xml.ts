/**
 * A small strict XML reader for D-Bus introspection documents: elements, attributes, comments, the XML
 * declaration and a DOCTYPE without internal subset. Anything else (CDATA, processing instructions inside
 * the tree, unbalanced or unknown entities, text outside the root) is an error with a line number.
 * Contracts are ours, so this is about catching mistakes early, not about hostile input.
 */

export interface XmlElement {
  name: string;
  attributes: Record<string, string>;
  children: XmlElement[];
  /** Non-whitespace text directly inside this element, concatenated. */
  text: string;
  line: number;
}

export class XmlSyntaxError extends Error {
  constructor(message: string, source: string, line: number) {
    super(`${source}:${line}: ${message}`);
    this.name = "XmlSyntaxError";
  }
}

const NAME = /[A-Za-z_:][-A-Za-z0-9_:.]*/y;
const ENTITIES: Record<string, string> = { lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" };

/** Parses `text` and returns its root element. `source` names the document in errors. */
export function parseXml(text: string, source = "<xml>"): XmlElement {
  let pos = 0;
  const lineAt = (at: number) => text.slice(0, at).split("\n").length;
  const fail = (message: string, at = pos): never => {
    throw new XmlSyntaxError(message, source, lineAt(at));
  };

  const skipWhitespace = () => {
    while (pos < text.length && /\s/.test(text[pos]!)) pos++;
  };
  const skipUntil = (terminator: string, what: string) => {
    const end = text.indexOf(terminator, pos);
    if (end < 0) fail(`unterminated ${what}`);
    pos = end + terminator.length;
  };
  const readName = (): string => {
    NAME.lastIndex = pos;
    const match = NAME.exec(text);
    if (match === null) return fail("expected a name");
    pos += match[0].length;
    return match[0];
  };
  const decode = (raw: string, at: number): string =>
    raw.replace(/&([^;]*);|&/g, (whole, entity: string | undefined) => {
      if (entity === undefined) return fail("bare '&' (write &amp;)", at);
      if (entity.startsWith("#x")) return String.fromCodePoint(parseInt(entity.slice(2), 16));
      if (entity.startsWith("#")) return String.fromCodePoint(parseInt(entity.slice(1), 10));
      const value = ENTITIES[entity];
      return value ?? fail(`unknown entity &${entity};`, at);
    });

  // Prolog: declaration, comments, doctype.
  const skipMisc = (allowDoctype: boolean) => {
    for (;;) {
      skipWhitespace();
      if (text.startsWith("<?xml", pos)) skipUntil("?>", "XML declaration");
      else if (text.startsWith("<!--", pos)) skipUntil("-->", "comment");
      else if (allowDoctype && text.startsWith("<!DOCTYPE", pos)) {
        const end = text.indexOf(">", pos);
        if (end < 0) fail("unterminated DOCTYPE");
        if (text.slice(pos, end).includes("[")) fail("DOCTYPE with an internal subset is not supported");
        pos = end + 1;
      } else return;
    }
  };

  const readElement = (): XmlElement => {
    const line = lineAt(pos);
    if (text[pos] !== "<") fail("expected '<'");
    pos++;
    const name = readName();
    const attributes: Record<string, string> = {};
    for (;;) {
      skipWhitespace();
      if (text.startsWith("/>", pos)) {
        pos += 2;
        return { name, attributes, children: [], text: "", line };
      }
      if (text[pos] === ">") {
        pos++;
        break;
      }
      const attributeName = readName();
      skipWhitespace();
      if (text[pos] !== "=") fail(`expected '=' after attribute ${attributeName}`);
      pos++;
      skipWhitespace();
      const quote = text[pos];
      if (quote !== '"' && quote !== "'") fail(`attribute ${attributeName} must be quoted`);
      const end = text.indexOf(quote!, pos + 1);
      if (end < 0) fail(`unterminated value of attribute ${attributeName}`);
      if (attributeName in attributes) fail(`duplicate attribute ${attributeName} on <${name}>`);
      const raw = text.slice(pos + 1, end);
      if (raw.includes("<")) fail(`'<' inside attribute ${attributeName}`);
      attributes[attributeName] = decode(raw, pos);
      pos = end + 1;
    }
    const children: XmlElement[] = [];
    let content = "";
    for (;;) {
      const next = text.indexOf("<", pos);
      if (next < 0) fail(`<${name}> (line ${line}) is never closed`);
      content += decode(text.slice(pos, next), pos);
      pos = next;
      if (text.startsWith("<!--", pos)) skipUntil("-->", "comment");
      else if (text.startsWith("</", pos)) {
        pos += 2;
        const closing = readName();
        if (closing !== name) fail(`</${closing}> closes <${name}> from line ${line}`);
        skipWhitespace();
        if (text[pos] !== ">") fail("expected '>'");
        pos++;
        return { name, attributes, children, text: content.trim(), line };
      } else if (text.startsWith("<!", pos) || text.startsWith("<?", pos)) fail("CDATA and processing instructions are not supported here");
      else children.push(readElement());
    }
  };

  skipMisc(true);
  if (pos >= text.length) fail("no root element");
  const root = readElement();
  skipMisc(false);
  if (pos < text.length) fail("content after the root element");
  return root;
}
