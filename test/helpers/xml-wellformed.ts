// A strict reader for the XML subset reports use (declaration, elements, attributes, text, the
// five predefined entities and character references): throws on anything not well-formed, so a
// test of a JUnit report fails where a CI server's parser would. No comments, CDATA or DTDs.

export interface XmlElement {
  name: string;
  attributes: Record<string, string>;
  children: XmlElement[];
  /** Decoded text directly inside the element. */
  text: string;
}

const NAME = /^[A-Za-z_:][-A-Za-z0-9_.:]*/;
// eslint-disable-next-line no-control-regex -- the XML Char production names the allowed control characters
const NOT_XML_CHAR = /[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/u;
const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decode(raw: string, where: string): string {
  return raw.replace(/&([^;]*);?/g, (match, body: string) => {
    if (!match.endsWith(';')) throw new Error(`${where}: bare "&"`);
    if (ENTITIES[body] !== undefined) return ENTITIES[body] as string;
    const num = /^#(?:x([0-9a-fA-F]+)|([0-9]+))$/.exec(body);
    if (!num) throw new Error(`${where}: unknown entity &${body};`);
    const code = num[1] !== undefined ? parseInt(num[1], 16) : Number(num[2]);
    const ch = String.fromCodePoint(code);
    if (NOT_XML_CHAR.test(ch)) throw new Error(`${where}: reference to a character XML does not allow (${code})`);
    return ch;
  });
}

export function parseXml(text: string): XmlElement {
  const bad = NOT_XML_CHAR.exec(text);
  if (bad) throw new Error(`character U+${(bad[0].codePointAt(0) ?? 0).toString(16)} at ${bad.index} is not allowed in XML`);
  let at = 0;
  const decl = /^<\?xml version="1\.0"( encoding="UTF-8")?\?>/.exec(text);
  if (decl) at = decl[0].length;
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  while (at < text.length) {
    const lt = text.indexOf('<', at);
    const chunk = text.slice(at, lt === -1 ? text.length : lt);
    if (chunk.includes(']]>')) throw new Error(`"]]>" in text at ${at}`);
    const parent = stack.at(-1);
    if (parent) parent.text += decode(chunk, `text at ${at}`);
    else if (chunk.trim() !== '') throw new Error(`text outside the root element at ${at}`);
    if (lt === -1) break;
    at = lt + 1;
    if (text[at] === '/') {
      const name = NAME.exec(text.slice(at + 1))?.[0];
      const open = stack.pop();
      if (!name || !open || open.name !== name) throw new Error(`unbalanced </${name ?? '?'}> at ${lt}`);
      at += 1 + name.length;
      while (/\s/.test(text[at] ?? '')) at++;
      if (text[at] !== '>') throw new Error(`malformed end tag at ${lt}`);
      at++;
      continue;
    }
    const name = NAME.exec(text.slice(at))?.[0];
    if (!name) throw new Error(`malformed tag at ${lt}`);
    if (!parent && root) throw new Error(`a second root element at ${lt}`);
    at += name.length;
    const element: XmlElement = { name, attributes: {}, children: [], text: '' };
    for (;;) {
      const space = /^\s*/.exec(text.slice(at))?.[0] ?? '';
      at += space.length;
      if (text.startsWith('/>', at) || text[at] === '>') break;
      if (space.length === 0) throw new Error(`attributes must be separated by blanks at ${at}`);
      const attr = /^([A-Za-z_:][-A-Za-z0-9_.:]*)=(?:"([^"<]*)"|'([^'<]*)')/.exec(text.slice(at));
      if (!attr) throw new Error(`malformed attribute of <${name}> at ${at}`);
      const key = attr[1] as string;
      if (key in element.attributes) throw new Error(`attribute ${key} twice on <${name}>`);
      element.attributes[key] = decode(attr[2] ?? attr[3] ?? '', `attribute ${key} of <${name}>`);
      at += attr[0].length;
    }
    if (parent) parent.children.push(element);
    else root = element;
    if (text.startsWith('/>', at)) at += 2;
    else {
      at += 1;
      stack.push(element);
    }
  }
  if (stack.length > 0) throw new Error(`<${stack.at(-1)?.name}> is not closed`);
  if (!root) throw new Error('no root element');
  return root;
}
