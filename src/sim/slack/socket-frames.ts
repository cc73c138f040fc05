// The Socket Mode wire format, as Slack speaks it: what the server sends (hello, envelopes, disconnect)
// and what it accepts back from the app (an ack naming an envelope_id). Pure: text in, values out.
import { randomUUID } from 'node:crypto';

/** The envelope types the stand-in delivers (Slack also has events_api, which the bot does not use). */
export type EnvelopeType = 'slash_commands' | 'interactive';

export interface Envelope {
  envelope_id: string;
  type: EnvelopeType;
  payload: Record<string, unknown>;
  /** True when the ack may carry a response (slash commands): Slack shows it to the user. */
  accepts_response_payload: boolean;
}

export type ClientFrame =
  | { ok: true; envelopeId: string; payload: Record<string, unknown> }
  | { ok: false; error: 'invalid_json' | 'not_an_object' | 'missing_envelope_id' | 'invalid_payload' };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function helloMessage(appId: string, numConnections: number): Record<string, unknown> {
  return {
    type: 'hello',
    num_connections: numConnections,
    debug_info: { host: 'applink-sim', build_number: 1, approximate_connection_time: 18060 },
    connection_info: { app_id: appId },
  };
}

/** Slack sends this before recycling a connection; the app is expected to open a new one. */
export function disconnectMessage(reason: string): Record<string, unknown> {
  return { type: 'disconnect', reason, debug_info: { host: 'applink-sim' } };
}

export function makeEnvelope(type: EnvelopeType, payload: Record<string, unknown>): Envelope {
  return { envelope_id: randomUUID(), type, payload, accepts_response_payload: type === 'slash_commands' };
}

/** An app's frame: `{"envelope_id": "...", "payload": {...}}` with payload optional. Anything else is refused. */
export function parseClientFrame(text: string): ClientFrame {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, error: 'invalid_json' };
  }
  if (!isRecord(value)) return { ok: false, error: 'not_an_object' };
  if (typeof value.envelope_id !== 'string' || value.envelope_id === '') return { ok: false, error: 'missing_envelope_id' };
  if (value.payload !== undefined && !isRecord(value.payload)) return { ok: false, error: 'invalid_payload' };
  return { ok: true, envelopeId: value.envelope_id, payload: value.payload ?? {} };
}
