import { describe, expect, it } from 'vitest';
import {
  formatClock,
  renderBlocks,
  renderChannel,
  renderMessage,
  renderMrkdwn,
  sanitize,
  type RenderDirectory,
} from '../../src/sim/slack/render.js';
import type { SimMessage } from '../../src/sim/slack/types.js';

const users: Record<string, string> = { U0BOT: 'netpol', U1: 'alice', U2: 'bob' };
const dir: RenderDirectory = {
  userName: (id) => users[id],
  isBot: (id) => id === 'U0BOT',
  channelName: (id) => (id === 'C1' ? 'incidents' : undefined),
  usergroupHandle: (id) => (id === 'S1' ? 'oncall' : undefined),
};

// 1700000000 = 2023-11-14T22:13:20Z
const msg = (ts: string, fields: Partial<SimMessage> = {}): SimMessage => ({
  channel: 'C1',
  ts,
  kind: 'message',
  user: 'U0BOT',
  botId: 'B0BOT',
  text: '',
  ...fields,
});

describe('renderMrkdwn', () => {
  it('shows mentions, channels, groups, links and entities as Slack displays them', () => {
    expect(renderMrkdwn('hi <@U1>, see <#C1> and <#C9|ops> &amp; <!subteam^S1> <!here> <https://x.io|the doc> <https://y.io> a &lt;b&gt;', dir)).toEqual([
      'hi @alice, see #incidents and #ops & @oncall @here the doc (https://x.io) https://y.io a <b>',
    ]);
  });

  it('turns ``` code fences into indented lines', () => {
    expect(renderMrkdwn('Diff:\n```\n- a\n+ b\n```\ndone', dir)).toEqual(['Diff:', '    - a', '    + b', 'done']);
  });
});

describe('renderBlocks', () => {
  it('renders header, section with fields and accessory, context, divider and action buttons', () => {
    const lines = renderBlocks(
      [
        { type: 'header', text: { type: 'plain_text', text: 'Incident INC-1' } },
        {
          type: 'section',
          text: { type: 'mrkdwn', text: '*Scope:* namespace `db`' },
          fields: [{ type: 'mrkdwn', text: 'Step 1/5' }, { type: 'plain_text', text: 'Contain' }],
          accessory: { type: 'button', text: { type: 'plain_text', text: 'Details' }, action_id: 'd' },
        },
        { type: 'context', elements: [{ type: 'mrkdwn', text: 'opened by <@U1>' }, { type: 'image', alt_text: 'logo' }] },
        { type: 'divider' },
        {
          type: 'actions',
          elements: [
            { type: 'button', text: { type: 'plain_text', text: 'Approve' }, style: 'primary', action_id: 'approve' },
            { type: 'button', text: { type: 'plain_text', text: 'Reject' }, style: 'danger', action_id: 'reject' },
            { type: 'static_select', placeholder: { type: 'plain_text', text: 'Pick' } },
          ],
        },
      ],
      dir,
    );
    expect(lines).toEqual([
      '# Incident INC-1',
      '*Scope:* namespace `db`',
      'Step 1/5',
      'Contain',
      '[ Details ]',
      '› opened by @alice · [logo]',
      '─'.repeat(24),
      '[ Approve ] [ Reject ] [ Pick ▾ ]',
    ]);
  });

  it('renders rich_text sections, code, quotes and lists as indented text', () => {
    const lines = renderBlocks(
      [
        {
          type: 'rich_text',
          elements: [
            { type: 'rich_text_section', elements: [{ type: 'text', text: 'Applied ' }, { type: 'text', text: 'deny-all', style: { code: true } }, { type: 'user', user_id: 'U2' }] },
            { type: 'rich_text_preformatted', elements: [{ type: 'text', text: 'kind: NetworkPolicy\nspec: {}' }] },
            { type: 'rich_text_quote', elements: [{ type: 'text', text: 'quoted' }] },
            { type: 'rich_text_list', style: 'ordered', elements: [{ type: 'rich_text_section', elements: [{ type: 'text', text: 'one' }] }, { type: 'rich_text_section', elements: [{ type: 'link', url: 'https://x', text: 'two' }] }] },
            { type: 'rich_text_list', style: 'bullet', indent: 1, elements: [{ type: 'rich_text_section', elements: [{ type: 'emoji', name: 'fire' }, { type: 'channel', channel_id: 'C1' }] }] },
          ],
        },
      ],
      dir,
    );
    expect(lines).toEqual([
      'Applied `deny-all`@bob',
      '    kind: NetworkPolicy',
      '    spec: {}',
      '> quoted',
      '1. one',
      '2. two (https://x)',
      '  • :fire:#incidents',
    ]);
  });

  it('never throws on hostile blocks and says what it could not show', () => {
    expect(renderBlocks('not an array', dir)).toEqual(['[malformed blocks]']);
    expect(renderBlocks([null, 42, { type: 'carousel' }, { type: 'section', text: 'not an object' }, { type: 'actions', elements: [null, { type: 42 }] }, { type: 'rich_text', elements: [null, { type: 'rich_text_list', indent: 1e9, elements: [7] }] }], dir)).toEqual([
      '[malformed block]',
      '[malformed block]',
      '[unsupported block: carousel]',
      '[ ? ] [ ? ]',
      `${'  '.repeat(8)}• `, // indent is capped
    ]);
  });
});

describe('sanitize', () => {
  it('removes terminal escapes, control characters and bidi overrides but keeps newlines and tabs', () => {
    expect(sanitize('a\u001b[2J\u0007b\u202ec\r\n\td')).toBe('a[2Jbc\n\td');
  });
});

describe('renderMessage', () => {
  it('puts a one-line message on the header line, in UTC', () => {
    expect(formatClock('1700000000.000100')).toBe('22:13:20');
    expect(renderMessage(msg('1700000000.000100', { text: 'hello <@U1>' }), dir)).toEqual(['[22:13:20] @netpol (bot): hello @alice']);
  });

  it('marks edits, ephemeral messages and files', () => {
    const lines = renderMessage(
      msg('1700000000.000200', {
        text: 'report attached',
        visibleTo: 'U1',
        edited: { user: 'U0BOT', ts: '1700000001.000000' },
        files: [{ id: 'F1', name: 'postmortem.md', title: 'postmortem.md', declaredLength: 12, content: Buffer.from('# INC-1\nok\n') }],
      }),
      dir,
      { showFileContent: true },
    );
    expect(lines).toEqual([
      '[22:13:20] @netpol (bot) (edited) (only visible to @alice):',
      '    report attached',
      '    📎 postmortem.md (11 bytes)',
      '        │ # INC-1',
      '        │ ok',
    ]);
  });

  it('shows binary files without dumping them and cuts long files', () => {
    const binary = msg('1700000000.000300', { files: [{ id: 'F2', name: 'x.bin', title: 'x', declaredLength: 3, content: Buffer.from([0, 255, 1]) }] });
    expect(renderMessage(binary, dir, { showFileContent: true })).toEqual(['[22:13:20] @netpol (bot):', '    📎 x.bin (3 bytes)', '        (binary content)']);
    const long = msg('1700000000.000400', { files: [{ id: 'F3', name: 'l.txt', title: 'l', declaredLength: 0, content: Buffer.from('1\n2\n3\n4\n') }] });
    expect(renderMessage(long, dir, { showFileContent: true, maxFileLines: 2 }).slice(-3)).toEqual(['        │ 1', '        │ 2', '        … (2 more lines)']);
  });

  it('shows user actions as narration', () => {
    expect(renderMessage(msg('1700000000.000500', { kind: 'user-action', user: 'U1', botId: undefined, text: 'ran /netpol incident db' }), dir)).toEqual([
      '[22:13:20] » @alice ran /netpol incident db',
    ]);
  });

  it('strips escape sequences a hostile message carries', () => {
    const [line] = renderMessage(msg('1700000000.000600', { text: 'evil\u001b]0;pwned\u0007 text' }), dir);
    expect(line?.includes('\u001b') || line?.includes('\u0007')).toBe(false);
  });
});

describe('renderChannel', () => {
  it('indents replies under their parent, keeps deleted parents with replies, lists orphans apart', () => {
    const entries = [
      msg('1700000000.000100', { text: 'Incident opened' }),
      msg('1700000001.000100', { text: 'step 1 done', threadTs: '1700000000.000100' }),
      msg('1700000002.000100', { text: 'second top-level', user: 'U1', botId: undefined }),
      msg('1700000003.000100', { text: 'gone', deleted: true }),
      msg('1700000004.000100', { text: 'gone with replies', deleted: true }),
      msg('1700000005.000100', { text: 'reply to deleted', threadTs: '1700000004.000100' }),
      msg('1700000006.000100', { text: 'reply to nothing', threadTs: '1600000000.000000' }),
    ];
    expect(renderChannel({ id: 'C1', name: 'incidents' }, entries, dir)).toBe(
      [
        '── #incidents (C1) ──',
        '[22:13:20] @netpol (bot): Incident opened',
        '    ↳ [22:13:21] @netpol (bot): step 1 done',
        '[22:13:22] @alice: second top-level',
        '[22:13:24] (message deleted)',
        '    ↳ [22:13:25] @netpol (bot): reply to deleted',
        '(replies to ts 1600000000.000000, a message that is not in this channel)',
        '    ↳ [22:13:26] @netpol (bot): reply to nothing',
      ].join('\n'),
    );
  });

  it('shows a viewer only their own ephemeral messages', () => {
    const entries = [msg('1700000000.000100', { text: 'for alice', visibleTo: 'U1' }), msg('1700000001.000100', { text: 'for bob', visibleTo: 'U2' })];
    const forBob = renderChannel({ id: 'C1', name: 'incidents' }, entries, dir, { viewer: 'U2' });
    expect(forBob).toContain('for bob');
    expect(forBob).not.toContain('for alice');
  });

  it('renders multi-line bodies of replies deeper than their header', () => {
    const entries = [
      msg('1700000000.000100', { text: 'parent' }),
      msg('1700000001.000100', { text: 'line 1\nline 2', threadTs: '1700000000.000100' }),
    ];
    expect(renderChannel({ id: 'C1', name: 'incidents' }, entries, dir).split('\n').slice(2)).toEqual([
      '    ↳ [22:13:21] @netpol (bot):',
      '          line 1',
      '          line 2',
    ]);
  });
});
