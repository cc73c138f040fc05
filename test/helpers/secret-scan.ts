// Looking for secrets in text the bot produced (log lines, Slack messages, uploaded files): each
// secret as written and in base64, also inside a longer encoded string such as Basic auth's
// base64("user:token"), whatever the secret's offset in it.
import { Writable } from 'node:stream';

export interface Secret {
  name: string;
  value: string;
  /** User names it is sent with as Basic auth (`user:value` base64), e.g. x-access-token for Git. */
  basicUsers?: string[];
}

export interface SecretHit {
  secret: string;
  form: string;
  where: string;
  excerpt: string;
}

/**
 * The strings whose presence gives the secret away: itself, URL-encoded, and its base64 at each of
 * the three alignments a surrounding string can give it (only the characters the secret alone
 * decides), plus the whole Basic credentials of each user. Standard and URL-safe alphabets.
 */
export function secretForms(secret: Secret): Array<{ form: string; text: string }> {
  const forms: Array<{ form: string; text: string }> = [{ form: 'plain', text: secret.value }];
  if (encodeURIComponent(secret.value) !== secret.value) forms.push({ form: 'url-encoded', text: encodeURIComponent(secret.value) });
  for (let shift = 0; shift < 3; shift++) {
    const pad = Buffer.alloc(shift, 0);
    const encoded = Buffer.concat([pad, Buffer.from(secret.value)]).toString('base64');
    // Characters fully decided by the secret's bytes: skip the ones touching the padding and the tail.
    const start = Math.ceil((shift * 8) / 6);
    const whole = Math.floor((shift + secret.value.length) / 3) * 4;
    const core = encoded.slice(start, whole);
    if (core.length >= 12) {
      forms.push({ form: `base64@${shift}`, text: core });
      forms.push({ form: `base64url@${shift}`, text: core.replace(/\+/g, '-').replace(/\//g, '_') });
    }
  }
  for (const user of secret.basicUsers ?? []) forms.push({ form: `basic ${user}`, text: Buffer.from(`${user}:${secret.value}`).toString('base64') });
  return forms;
}

/** Every occurrence of any secret in any of the texts. */
export function findSecrets(texts: Array<{ where: string; text: string }>, secrets: Secret[]): SecretHit[] {
  const hits: SecretHit[] = [];
  for (const secret of secrets) {
    const forms = secretForms(secret);
    for (const { where, text } of texts) {
      for (const { form, text: needle } of forms) {
        const at = text.indexOf(needle);
        if (at >= 0) hits.push({ secret: secret.name, form, where, excerpt: text.slice(Math.max(0, at - 80), at + needle.length + 40) });
      }
    }
  }
  return hits;
}

/** A stream for a pino logger that keeps every raw line as written (not parsed, so nothing is lost). */
export function lineCollector(): { stream: Writable; lines: string[] } {
  const lines: string[] = [];
  let rest = '';
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      const parts = (rest + chunk.toString('utf8')).split('\n');
      rest = parts.pop() ?? '';
      lines.push(...parts.filter(Boolean));
      done();
    },
    final(done) {
      if (rest) lines.push(rest);
      done();
    },
  });
  return { stream, lines };
}
