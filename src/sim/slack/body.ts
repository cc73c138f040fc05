// Parses Web API request bodies the way Slack accepts them: form-urlencoded, JSON, or multipart/form-data.
// Pure: bytes and a content-type in, arguments or a Slack error code out.

export interface MultipartPart {
  name: string;
  filename?: string;
  contentType?: string;
  data: Buffer;
}

export type ParsedBody =
  | { ok: true; args: Record<string, unknown>; parts: MultipartPart[] }
  | { ok: false; error: 'invalid_json' | 'json_not_object' | 'invalid_form_data' | 'invalid_post_type' };

function mediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

export function boundaryOf(contentType: string | undefined): string | undefined {
  const match = /;\s*boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType ?? '');
  return match?.[1] ?? match?.[2];
}

export function parseForm(raw: string): Record<string, string> {
  const args: Record<string, string> = {};
  for (const [key, value] of new URLSearchParams(raw)) args[key] = value;
  return args;
}

/** RFC 7578 multipart/form-data; undefined when the body does not follow the framing. */
export function parseMultipart(raw: Buffer, boundary: string): MultipartPart[] | undefined {
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: MultipartPart[] = [];
  let cursor = raw.indexOf(delimiter);
  if (cursor === -1) return undefined;
  while (true) {
    cursor += delimiter.length;
    if (raw.subarray(cursor, cursor + 2).toString() === '--') return parts;
    if (raw.subarray(cursor, cursor + 2).toString() !== '\r\n') return undefined;
    const headerEnd = raw.indexOf('\r\n\r\n', cursor + 2);
    if (headerEnd === -1) return undefined;
    const next = raw.indexOf(Buffer.concat([Buffer.from('\r\n'), delimiter]), headerEnd + 4);
    if (next === -1) return undefined;
    const headers = raw.subarray(cursor + 2, headerEnd).toString('utf8').split('\r\n');
    const disposition = headers.find((h) => h.toLowerCase().startsWith('content-disposition:')) ?? '';
    const name = /\bname="([^"]*)"/i.exec(disposition)?.[1];
    if (name === undefined) return undefined;
    const filename = /\bfilename="([^"]*)"/i.exec(disposition)?.[1];
    const type = headers.find((h) => h.toLowerCase().startsWith('content-type:'));
    parts.push({
      name,
      ...(filename !== undefined ? { filename } : {}),
      ...(type ? { contentType: type.slice('content-type:'.length).trim() } : {}),
      data: raw.subarray(headerEnd + 4, next),
    });
    cursor = next + 2;
  }
}

export function parseApiBody(contentType: string | undefined, raw: Buffer): ParsedBody {
  const type = mediaType(contentType);
  if (raw.length === 0 && type === '') return { ok: true, args: {}, parts: [] };
  if (type === 'application/x-www-form-urlencoded') return { ok: true, args: parseForm(raw.toString('utf8')), parts: [] };
  if (type === 'application/json') {
    let value: unknown;
    try {
      value = JSON.parse(raw.toString('utf8'));
    } catch {
      return { ok: false, error: 'invalid_json' };
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return { ok: false, error: 'json_not_object' };
    return { ok: true, args: value as Record<string, unknown>, parts: [] };
  }
  if (type === 'multipart/form-data') {
    const boundary = boundaryOf(contentType);
    const parts = boundary ? parseMultipart(raw, boundary) : undefined;
    if (!parts) return { ok: false, error: 'invalid_form_data' };
    const args: Record<string, unknown> = {};
    for (const part of parts) if (part.filename === undefined) args[part.name] = part.data.toString('utf8');
    return { ok: true, args, parts };
  }
  return { ok: false, error: 'invalid_post_type' };
}
