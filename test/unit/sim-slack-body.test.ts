import { describe, expect, it } from 'vitest';
import { boundaryOf, parseApiBody, parseMultipart } from '../../src/sim/slack/body.js';

const multipart = (boundary: string, parts: string[]): Buffer =>
  Buffer.from(parts.map((p) => `--${boundary}\r\n${p}\r\n`).join('') + `--${boundary}--\r\n`);

describe('parseApiBody', () => {
  it('reads form-urlencoded arguments', () => {
    const parsed = parseApiBody('application/x-www-form-urlencoded', Buffer.from('channel=C1&text=hello%20world&blocks=%5B%5D'));
    expect(parsed).toEqual({ ok: true, args: { channel: 'C1', text: 'hello world', blocks: '[]' }, parts: [] });
  });

  it('reads a JSON object, with a charset parameter', () => {
    const parsed = parseApiBody('application/json; charset=utf-8', Buffer.from('{"channel":"C1","blocks":[]}'));
    expect(parsed).toEqual({ ok: true, args: { channel: 'C1', blocks: [] }, parts: [] });
  });

  it('rejects broken JSON and JSON that is not an object', () => {
    expect(parseApiBody('application/json', Buffer.from('{"channel":'))).toEqual({ ok: false, error: 'invalid_json' });
    expect(parseApiBody('application/json', Buffer.from('[1,2]'))).toEqual({ ok: false, error: 'json_not_object' });
    expect(parseApiBody('application/json', Buffer.from('null'))).toEqual({ ok: false, error: 'json_not_object' });
    expect(parseApiBody('application/json', Buffer.from(''))).toEqual({ ok: false, error: 'invalid_json' });
  });

  it('rejects an unsupported content type', () => {
    expect(parseApiBody('text/xml', Buffer.from('<a/>'))).toEqual({ ok: false, error: 'invalid_post_type' });
  });

  it('accepts an empty body without content type (arguments in the query string)', () => {
    expect(parseApiBody(undefined, Buffer.alloc(0))).toEqual({ ok: true, args: {}, parts: [] });
  });

  it('does not let __proto__ in a form body change objects', () => {
    const parsed = parseApiBody('application/x-www-form-urlencoded', Buffer.from('__proto__=x&channel=C1'));
    expect(parsed.ok && parsed.args.channel).toBe('C1');
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });
});

describe('parseMultipart', () => {
  it('reads fields and a binary file part the way form-data writes them', () => {
    const boundary = '--------------------------123456';
    const bytes = Buffer.from([0, 1, 2, 13, 10, 255]);
    const raw = Buffer.concat([
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="title"\r\n\r\nreport\r\n`),
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="body"; filename="Untitled"\r\nContent-Type: application/octet-stream\r\n\r\n`),
      bytes,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    const type = `multipart/form-data; boundary=${boundary}`;
    expect(boundaryOf(type)).toBe(boundary);
    const parsed = parseApiBody(type, raw);
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.args).toEqual({ title: 'report' });
    expect(parsed.parts[1]).toMatchObject({ name: 'body', filename: 'Untitled', contentType: 'application/octet-stream' });
    expect(parsed.parts[1]?.data.equals(bytes)).toBe(true);
  });

  it('takes a quoted boundary', () => {
    expect(boundaryOf('multipart/form-data; boundary="a b"')).toBe('a b');
  });

  it('rejects broken framing: no boundary, no closing delimiter, no headers end, no name', () => {
    expect(parseApiBody('multipart/form-data', Buffer.from('x'))).toEqual({ ok: false, error: 'invalid_form_data' });
    expect(parseMultipart(Buffer.from('--b\r\nContent-Disposition: form-data; name="a"\r\n\r\nvalue'), 'b')).toBeUndefined();
    expect(parseMultipart(Buffer.from('--b\r\nContent-Disposition: form-data; name="a"'), 'b')).toBeUndefined();
    expect(parseMultipart(multipart('b', ['Content-Disposition: form-data\r\n\r\nv']), 'b')).toBeUndefined();
    expect(parseMultipart(Buffer.from('no delimiter at all'), 'b')).toBeUndefined();
    expect(parseMultipart(Buffer.from('--bXX'), 'b')).toBeUndefined();
  });

  it('reads an empty multipart body', () => {
    expect(parseMultipart(Buffer.from('--b--\r\n'), 'b')).toEqual([]);
  });
});
