import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiException } from '@kubernetes/client-node';
import { afterAll, describe, expect, it } from 'vitest';
import { KubeApiError, loadKubeConfig, toKubeApiError } from '../../../src/kube/index.js';

function status(code: number, reason: string, message: string, details?: object): string {
  return JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code, ...(details ? { details } : {}) });
}

describe('toKubeApiError', () => {
  it('keeps the Status message and reason of an ApiException', () => {
    const msg = 'networkpolicies.networking.k8s.io "x" is forbidden: User "u" cannot patch resource "networkpolicies" in API group "networking.k8s.io" in the namespace "db"';
    const e = toKubeApiError(new ApiException(403, 'Unknown API Status Code!', status(403, 'Forbidden', msg), {}), 'apply');
    expect(e).toBeInstanceOf(KubeApiError);
    expect(e).toMatchObject({ status: 403, reason: 'Forbidden', message: msg, retryable: false, causes: [] });
    expect(e.cause).toBeInstanceOf(ApiException);
  });

  it('decides retryability by status', () => {
    const make = (code: number): KubeApiError => toKubeApiError(new ApiException(code, 'x', status(code, 'R', 'm'), {}), 'a');
    for (const code of [429, 500, 502, 503, 504]) expect(make(code).retryable, String(code)).toBe(true);
    for (const code of [400, 401, 403, 404, 409, 410, 413, 422]) expect(make(code).retryable, String(code)).toBe(false);
  });

  it('reads Retry-After from details or the header, and causes from details', () => {
    const fromDetails = toKubeApiError(new ApiException(429, 'x', status(429, 'TooManyRequests', 'slow down', { retryAfterSeconds: 3 }), {}), 'a');
    expect(fromDetails.retryAfterSeconds).toBe(3);
    const fromHeader = toKubeApiError(new ApiException(503, 'x', status(503, 'ServiceUnavailable', 'busy'), { 'Retry-After': '9' }), 'a');
    expect(fromHeader.retryAfterSeconds).toBe(9);
    const causes = [{ reason: 'FieldValueInvalid', message: 'Invalid value: 0', field: 'spec.x' }];
    expect(toKubeApiError(new ApiException(422, 'x', status(422, 'Invalid', 'bad', { causes }), {}), 'a').causes).toEqual(causes);
  });

  it('copes with bodies that are not a Status', () => {
    const html = toKubeApiError(new ApiException(502, 'x', '<html>Bad Gateway</html>', {}), 'list pods in db');
    expect(html).toMatchObject({ status: 502, reason: 'BadGateway', retryable: true, message: 'list pods in db: HTTP 502: <html>Bad Gateway</html>' });
    const empty = toKubeApiError(new ApiException(404, 'x', undefined, {}), 'get x');
    expect(empty).toMatchObject({ status: 404, reason: 'NotFound', message: 'get x: HTTP 404' });
    const odd = toKubeApiError(new ApiException(418, 'x', '{"kind":"NotStatus"}', {}), 'get x');
    expect(odd.reason).toBe('Unknown');
    const huge = toKubeApiError(new ApiException(500, 'x', 'y'.repeat(10_000), {}), 'a');
    expect(huge.message.length).toBeLessThan(600);
  });

  it('maps network failures to a retryable status 0', () => {
    const refused = Object.assign(new Error('request to https://127.0.0.1:1/ failed, reason: connect ECONNREFUSED'), { code: 'ECONNREFUSED', type: 'system', name: 'FetchError' });
    expect(toKubeApiError(refused, 'list')).toMatchObject({ status: 0, reason: 'NetworkError', retryable: true });
    expect(toKubeApiError(new TypeError('boom'), 'list')).toMatchObject({ status: 0, reason: 'ClientError', message: 'list: boom' });
    expect(toKubeApiError('just a string', 'list').message).toBe('list: just a string');
  });

  it('returns a KubeApiError unchanged', () => {
    const e = new KubeApiError({ status: 409, reason: 'Conflict', message: 'c' });
    expect(toKubeApiError(e, 'x')).toBe(e);
  });
});

describe('loadKubeConfig', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kubeconfig-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const good = join(dir, 'good');
  writeFileSync(
    good,
    'apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "https://127.0.0.1:6443"}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n',
  );

  it('loads an explicit file', () => {
    expect(loadKubeConfig({ kubeconfigPath: good }).getCurrentCluster()?.server).toBe('https://127.0.0.1:6443');
  });

  it('falls back to $KUBECONFIG', () => {
    expect(loadKubeConfig({ env: { KUBECONFIG: good } }).getCurrentContext()).toBe('x');
  });

  it('says which file is missing', () => {
    expect(() => loadKubeConfig({ kubeconfigPath: join(dir, 'absent') })).toThrow(/kubeconfig file not found: .*absent/);
  });

  it('rejects a file without a current cluster', () => {
    const noContext = join(dir, 'no-context');
    writeFileSync(noContext, 'apiVersion: v1\nkind: Config\nclusters: []\nusers: []\ncontexts: []\n');
    expect(() => loadKubeConfig({ kubeconfigPath: noContext })).toThrow(/no current cluster/);
  });

  it('rejects a malformed file', () => {
    const junk = join(dir, 'junk');
    writeFileSync(junk, ':\n  - [unbalanced');
    expect(() => loadKubeConfig({ kubeconfigPath: junk })).toThrow();
  });
});
