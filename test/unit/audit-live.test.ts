// The one-line failures of `audit --live` for each kind of API error, and the SARIF locations of
// live objects (relative to the uriBaseId KUBERNETES, valid whatever the object's name).
import { describe, expect, it } from 'vitest';
import { auditReport } from '../../src/audit-report/checks.js';
import { describeKubeFailure, renderLiveSarif } from '../../src/commands/audit-live.js';
import { KubeApiError } from '../../src/kube/errors.js';
import { sarifProblems } from '../helpers/sarif-shape.js';

const SERVER = 'https://10.0.0.1:6443';

describe('describeKubeFailure', () => {
  it('names the server and the fix for each kind of failure, on one line', () => {
    const network = new KubeApiError({ status: 0, reason: 'NetworkError', message: 'list pods: connect EHOSTUNREACH\nstack' });
    expect(describeKubeFailure(network, SERVER, 10_000, false)).toBe(`cannot reach the Kubernetes API at ${SERVER} (list pods: connect EHOSTUNREACH): check the server address of the kubeconfig's cluster and that the cluster is up`);
    expect(describeKubeFailure(network, SERVER, 10_000, true)).toMatch(/did not answer within 10 s: .*raise --request-timeout$/);
    const apiSaid = new KubeApiError({ status: 403, reason: 'Forbidden', message: 'networkpolicies.networking.k8s.io is forbidden: User "u" cannot list resource "networkpolicies"' });
    const forbidden = new KubeApiError({ status: 403, reason: 'Forbidden', message: `${apiSaid.message}. The bot's RBAC lacks ...`, cause: apiSaid, missingPermission: { verb: 'list', group: 'networking.k8s.io', resource: 'networkpolicies' } });
    expect(describeKubeFailure(forbidden, SERVER, 10_000, false)).toBe(
      `the Kubernetes API at ${SERVER} forbids the kubeconfig's user to list networkpolicies.networking.k8s.io cluster-wide (403 Forbidden: ${apiSaid.message}): grant it verb "list" on resource "networkpolicies" in apiGroup "networking.k8s.io", cluster-wide, with a ClusterRole bound to that user`,
    );
    expect(describeKubeFailure(new KubeApiError({ status: 403, reason: 'Forbidden', message: 'nope' }), SERVER, 10_000, false)).toMatch(/refused a request \(403 Forbidden: nope\): grant/);
    expect(describeKubeFailure(new KubeApiError({ status: 503, reason: 'ServiceUnavailable', message: 'etcd down' }), SERVER, 10_000, false)).toBe(`the Kubernetes API at ${SERVER} answered HTTP 503 ServiceUnavailable: etcd down`);
    expect(describeKubeFailure(new Error('exec plugin failed\nmore'), SERVER, 10_000, false)).toBe(`cannot use the Kubernetes API at ${SERVER}: exec plugin failed`);
  });
});

describe('renderLiveSarif', () => {
  it('locates each finding at Kind/namespace/name, escaped, under KUBERNETES', () => {
    const report = auditReport({
      namespaces: [{ metadata: { name: 'shop' } }],
      pods: [{ metadata: { namespace: 'shop', name: 'web', labels: { app: 'web' } } }],
      networkPolicies: [{ metadata: { namespace: 'shop', name: 'open web' }, spec: { podSelector: {}, ingress: [{}] } }],
    });
    const log = JSON.parse(renderLiveSarif(report, '1.0.0', SERVER));
    expect(sarifProblems(log)).toEqual([]);
    expect(log.runs[0].originalUriBaseIds.KUBERNETES.uri).toBe('kubernetes://10.0.0.1:6443/');
    const uris = log.runs[0].results.map((r: { locations: Array<{ physicalLocation: { artifactLocation: { uri: string; uriBaseId: string } } }> }) => r.locations[0]!.physicalLocation.artifactLocation);
    expect(uris).toContainEqual({ uri: 'NetworkPolicy/shop/open%20web', uriBaseId: 'KUBERNETES' });
    expect(uris).toContainEqual({ uri: 'Namespace/shop', uriBaseId: 'KUBERNETES' });
  });
});
