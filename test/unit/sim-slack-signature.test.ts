import { describe, expect, it } from 'vitest';
import { formEncode, signSlackRequest, slackRequestHeaders } from '../../src/sim/slack/driver.js';

// The worked example of Slack's "Verifying requests from Slack" page
// (see test/fixtures/SOURCES-detail.md, section 4, request_signing_vector).
const DOC_SECRET = '8f742231b10e8888abcd99yyyzzz85a5';
const DOC_TIMESTAMP = 1531420618;
const DOC_BODY =
  'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar' +
  '&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=' +
  '&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN' +
  '&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c';
const DOC_SIGNATURE = 'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503';

describe('signSlackRequest', () => {
  it("reproduces Slack's published example", () => {
    expect(signSlackRequest(DOC_SECRET, DOC_TIMESTAMP, DOC_BODY)).toBe(DOC_SIGNATURE);
    expect(signSlackRequest(DOC_SECRET, String(DOC_TIMESTAMP), DOC_BODY)).toBe(DOC_SIGNATURE);
  });

  it('changes with the secret, the timestamp and any byte of the body', () => {
    expect(signSlackRequest('another-secret', DOC_TIMESTAMP, DOC_BODY)).not.toBe(DOC_SIGNATURE);
    expect(signSlackRequest(DOC_SECRET, DOC_TIMESTAMP + 1, DOC_BODY)).not.toBe(DOC_SIGNATURE);
    expect(signSlackRequest(DOC_SECRET, DOC_TIMESTAMP, DOC_BODY.replace('roadrunner', 'roadrunnel'))).not.toBe(DOC_SIGNATURE);
  });

  it('builds the headers Slack sends', () => {
    expect(slackRequestHeaders(DOC_SECRET, DOC_TIMESTAMP, DOC_BODY)).toEqual({
      'Content-Type': 'application/x-www-form-urlencoded',
      'X-Slack-Request-Timestamp': '1531420618',
      'X-Slack-Signature': DOC_SIGNATURE,
    });
  });
});

describe('formEncode', () => {
  it("writes the documented slash command body byte for byte", () => {
    const fields = Object.fromEntries(new URLSearchParams(DOC_BODY));
    expect(formEncode(fields)).toBe(DOC_BODY);
  });

  it('encodes spaces as %20 and escapes & = + so values cannot inject fields', () => {
    const body = formEncode({ text: 'incident shop-db -- a&b=c+d' });
    expect(body).toBe('text=incident%20shop-db%20--%20a%26b%3Dc%2Bd');
    expect(Object.fromEntries(new URLSearchParams(body))).toEqual({ text: 'incident shop-db -- a&b=c+d' });
  });
});
