import { describe, expect, it } from 'vitest';
import { disconnectMessage, helloMessage, makeEnvelope, parseClientFrame } from '../../src/sim/slack/socket-frames.js';

describe('parseClientFrame', () => {
  it('reads an ack with and without a payload', () => {
    expect(parseClientFrame('{"envelope_id":"e-1","payload":{"text":"hi"}}')).toEqual({ ok: true, envelopeId: 'e-1', payload: { text: 'hi' } });
    expect(parseClientFrame('{"envelope_id":"e-1"}')).toEqual({ ok: true, envelopeId: 'e-1', payload: {} });
  });

  it('refuses text that is not an ack', () => {
    expect(parseClientFrame('')).toEqual({ ok: false, error: 'invalid_json' });
    expect(parseClientFrame('{"envelope_id":')).toEqual({ ok: false, error: 'invalid_json' });
    expect(parseClientFrame('null')).toEqual({ ok: false, error: 'not_an_object' });
    expect(parseClientFrame('[{"envelope_id":"e-1"}]')).toEqual({ ok: false, error: 'not_an_object' });
    expect(parseClientFrame('{"payload":{}}')).toEqual({ ok: false, error: 'missing_envelope_id' });
    expect(parseClientFrame('{"envelope_id":42}')).toEqual({ ok: false, error: 'missing_envelope_id' });
    expect(parseClientFrame('{"envelope_id":"e-1","payload":[1]}')).toEqual({ ok: false, error: 'invalid_payload' });
    expect(parseClientFrame('{"envelope_id":"e-1","payload":null}')).toEqual({ ok: false, error: 'invalid_payload' });
  });

  it('is not fooled by prototype keys or deep nesting', () => {
    expect(parseClientFrame('{"__proto__":{"envelope_id":"e-1"}}')).toEqual({ ok: false, error: 'missing_envelope_id' });
    const deep = `{"envelope_id":"e-1","payload":{"a":${'['.repeat(5000)}${']'.repeat(5000)}}}`;
    expect(parseClientFrame(deep)).toMatchObject({ ok: true, envelopeId: 'e-1' });
  });
});

describe('server messages', () => {
  it('builds hello, disconnect and envelopes in Slack shape', () => {
    expect(helloMessage('A0NETPOL', 2)).toMatchObject({ type: 'hello', num_connections: 2, connection_info: { app_id: 'A0NETPOL' } });
    expect(disconnectMessage('refresh_requested')).toMatchObject({ type: 'disconnect', reason: 'refresh_requested' });
    const command = makeEnvelope('slash_commands', { command: '/netpol' });
    const click = makeEnvelope('interactive', { type: 'block_actions' });
    expect(command).toMatchObject({ type: 'slash_commands', payload: { command: '/netpol' }, accepts_response_payload: true });
    expect(click).toMatchObject({ type: 'interactive', accepts_response_payload: false });
    expect(command.envelope_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(command.envelope_id).not.toBe(click.envelope_id);
  });
});
