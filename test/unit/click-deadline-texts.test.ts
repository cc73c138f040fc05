// The answers the bot gives when Redis does not answer within a click's budget.
import { describe, expect, it } from 'vitest';
import { redisDownText, redisLateText } from '../../src/slack/click-deadline.js';

describe('Redis-unreachable answers', () => {
  it('a slash command: what did not happen, the budget, and to try again', () => {
    expect(redisDownText('No incident was opened')).toBe('The bot cannot reach Redis, where it keeps incidents (no answer within 2.5 s). No incident was opened; try again in a moment.');
    expect(redisDownText('Nothing was exported', 1200)).toContain('(no answer within 1.2 s). Nothing was exported;');
  });

  it('a click: nothing changed, recorded but stuck, or (alerts) may still take effect', () => {
    expect(redisLateText('approval', false)).toBe('Could not record your approval: the bot cannot reach Redis (no answer within 2.5 s). Nothing was changed; try again in a moment.');
    expect(redisLateText('approval', true, 2500, '20261202-abc123')).toContain('`/netpol status 20261202-abc123`');
    expect(redisLateText('choice', false, 2500, undefined, false)).toContain('It may still take effect when Redis is back');
  });
});
