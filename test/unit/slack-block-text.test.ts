import { describe, expect, it } from 'vitest';
import { codeBlock, codeSpan, escapeControl, escapeMrkdwn, listOf } from '../../src/slack/block-text.js';

const HOSTILE = '<!channel> <!here> <@U0EVIL> <!subteam^S1|g> <http://evil.example|click> *b* _i_ ~s~ `c` ```f``` & done';

describe('escaping text for Slack mrkdwn', () => {
  it('escapeControl turns &, < and > into entities: no mention or link survives', () => {
    const out = escapeControl(HOSTILE);
    for (const construct of ['<!channel>', '<!here>', '<@U0EVIL>', '<!subteam^', '<http://']) expect(out).not.toContain(construct);
    expect(out).toContain('&lt;!channel&gt;');
    expect(out).toContain('&amp; done');
    expect(out).not.toMatch(/&(?!amp;|lt;|gt;)/);
  });

  it('escapeMrkdwn also shows the formatting characters as look-alikes', () => {
    const out = escapeMrkdwn(HOSTILE);
    expect(out).not.toMatch(/[*_~`<>]/);
    expect(out).toContain('\u2217b\u2217');
    expect(out).toContain('\u02CDi\u02CD');
    expect(out).toContain('\u223Cs\u223C');
    expect(out).toContain('\u02CBc\u02CB');
  });

  it('codeSpan keeps text as typed inside one code span a backtick or a line break cannot end', () => {
    const out = codeSpan('a `b` *c*\nd <!here>');
    expect(out).toBe('`a \u02CBb\u02CB *c* d &lt;!here&gt;`');
    expect(out.match(/`/g)).toHaveLength(2);
  });

  it('codeBlock keeps lines but its fence cannot be closed from inside', () => {
    const out = codeBlock('x\n```\n<!channel>');
    expect(out).toBe('```x\n\u02CB\u02CB\u02CB\n&lt;!channel&gt;```');
    expect(out.match(/```/g)).toHaveLength(2);
  });

  it('listOf puts each item in its own code span', () => {
    expect(listOf(['a`b', '<@U1>'])).toBe('`a\u02CBb`, `&lt;@U1&gt;`');
    expect(listOf([])).toBe('_none_');
  });
});
