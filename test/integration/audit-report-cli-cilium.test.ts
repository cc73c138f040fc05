// `netpol-responder audit` on files with CiliumClusterwideNetworkPolicies: the engine skips the
// kind, the audit's isolation checks read it (a namespace selected by its label is default-denied).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../../src/commands/audit-report.js';

const dir = mkdtempSync(join(tmpdir(), 'netpol-audit-ccnp-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function audit(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const chunks = { out: [] as Buffer[], err: [] as Buffer[] };
  stdout.on('data', (c: Buffer) => chunks.out.push(c));
  stderr.on('data', (c: Buffer) => chunks.err.push(c));
  const code = await run(args, { stdout, stderr });
  return { code, stdout: Buffer.concat(chunks.out).toString('utf8'), stderr: Buffer.concat(chunks.err).toString('utf8') };
}

const CLUSTER = `apiVersion: v1
kind: Namespace
metadata: { name: shop, labels: { tier: prod } }
---
apiVersion: v1
kind: Pod
metadata: { namespace: shop, name: web-1, labels: { app: web } }
spec: { containers: [{ name: web }] }
`;

const CCNP = `apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: { name: prod-ingress }
spec:
  endpointSelector:
    matchLabels: { "k8s:io.cilium.k8s.namespace.labels.tier": prod }
  ingress:
  - fromEntities: [cluster]
`;

describe('netpol-responder audit with CiliumClusterwideNetworkPolicies', () => {
  it('counts a CCNP selecting a namespace by its labels as its default deny for the directions it has rules for', async () => {
    writeFileSync(join(dir, 'cluster.yaml'), CLUSTER);
    const without = await audit(['--format', 'json', join(dir, 'cluster.yaml')]);
    expect(without.code).toBe(0);
    const before = JSON.parse(without.stdout) as { findings: Array<{ ruleId: string; message: string; direction?: string }> };
    expect(before.findings.find((f) => f.ruleId === 'audit/no-default-deny')?.message).toMatch(/ingress or egress/);

    writeFileSync(join(dir, 'ccnp.yaml'), CCNP);
    const withCcnp = await audit(['--format', 'json', join(dir, 'cluster.yaml'), join(dir, 'ccnp.yaml')]);
    expect(withCcnp.stderr).toBe('');
    const after = JSON.parse(withCcnp.stdout) as typeof before;
    expect(after.findings.find((f) => f.ruleId === 'audit/no-default-deny')?.message).toMatch(/no default-deny egress policy/);
    expect(after.findings.filter((f) => f.ruleId === 'audit/unselected-pods').map((f) => f.direction)).toEqual(['egress']);
  });

  it('a CCNP without a name is an input error (exit 1)', async () => {
    writeFileSync(join(dir, 'bad.yaml'), 'apiVersion: cilium.io/v2\nkind: CiliumClusterwideNetworkPolicy\nmetadata: {}\nspec: { endpointSelector: {} }\n');
    const r = await audit([join(dir, 'cluster.yaml'), join(dir, 'bad.yaml')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('CiliumClusterwideNetworkPolicy without metadata.name');
  });
});
