import { X509Certificate, createPrivateKey } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { resourceForKind } from '../../../src/sim/kube/resources.js';
import { createSelfSignedCertificate, derInteger } from '../../../src/sim/kube/tls.js';
import { validateObject } from '../../../src/sim/kube/validation.js';
import { KUBE_SYSTEM, SHOP_NAMESPACES, SHOP_PODS, SHOP_POLICIES, shopObjects, shopPolicyObjects } from '../../../src/sim/scenarios/shop.js';

describe('createSelfSignedCertificate', () => {
  it('makes a valid self-issued certificate for 127.0.0.1 and localhost', () => {
    const { certPem, keyPem } = createSelfSignedCertificate('test-ca', new Date('2026-01-01T00:00:00Z'));
    const cert = new X509Certificate(certPem);
    expect(cert.subject).toBe('CN=test-ca');
    expect(cert.ca).toBe(true);
    expect(cert.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(cert.checkHost('localhost')).toBe('localhost');
    expect(cert.checkIssued(cert)).toBe(true);
    expect(cert.verify(cert.publicKey)).toBe(true);
    expect(cert.checkPrivateKey(createPrivateKey(keyPem))).toBe(true);
    expect(new Date(cert.validTo).getTime()).toBeGreaterThan(new Date('2026-12-31T00:00:00Z').getTime());
  });

  it('encodes integers in DER\'s shortest form (a serial starting with zero bytes once broke 1 start in 256)', () => {
    const hex = (bytes: number[]): string => derInteger(Buffer.from(bytes)).toString('hex');
    expect(hex([0x00, 0x1f, 0xaa])).toBe('02021faa');
    expect(hex([0x00, 0x00, 0x80])).toBe('02020080');
    expect(hex([0x80, 0x01])).toBe('0203008001');
    expect(hex([0x7f])).toBe('02017f');
    expect(hex([0x00])).toBe('020100');
    expect(hex([0x00, 0x00])).toBe('020100');
    expect(hex([])).toBe('020100');
  });

  it('makes a certificate OpenSSL accepts, every time', () => {
    // With the old encoding, 1500 certificates hit the bad serial with probability 1 - (255/256)^1500 ≈ 99.7 %.
    for (let i = 0; i < 1500; i++) expect(() => createSelfSignedCertificate()).not.toThrow();
  });
});

type Obj = { kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> }; spec?: Record<string, unknown> };

describe('shop scenario', () => {
  const objects = shopObjects() as Obj[];

  it('has valid objects only', () => {
    for (const o of objects) {
      const rt = resourceForKind(o.kind);
      expect(rt, o.kind).toBeDefined();
      expect(validateObject(rt as NonNullable<typeof rt>, o), `${o.kind} ${o.metadata.name}`).toEqual([]);
    }
  });

  it('labels namespaces with kubernetes.io/metadata.name', () => {
    const namespaces = objects.filter((o) => o.kind === 'Namespace');
    expect(namespaces.map((n) => n.metadata.name).sort()).toEqual(['api', 'db', 'frontend', 'kube-system', 'netpol-responder']);
    for (const ns of namespaces) expect(ns.metadata.labels?.['kubernetes.io/metadata.name']).toBe(ns.metadata.name);
  });

  it('has the pods the brief names, with ports', () => {
    const pods = objects.filter((o) => o.kind === 'Pod');
    const find = (name: string): Obj | undefined => pods.find((p) => p.metadata.name === name);
    expect(pods.filter((p) => p.metadata.labels?.app === 'web')).toHaveLength(2);
    expect(pods.filter((p) => p.metadata.labels?.app === 'orders')).toHaveLength(2);
    expect(find(SHOP_PODS.postgres)?.metadata.labels?.app).toBe('postgres');
    expect(find(SHOP_PODS.redis)?.metadata.namespace).toBe(SHOP_NAMESPACES.db);
    expect(find(SHOP_PODS.kubeDns)?.metadata).toMatchObject({ namespace: KUBE_SYSTEM, labels: { 'k8s-app': 'kube-dns' } });
    const dnsPorts = (find(SHOP_PODS.kubeDns)?.spec?.containers as Array<{ ports: Array<{ containerPort: number; protocol: string }> }>)[0]?.ports;
    expect(dnsPorts?.filter((p) => p.containerPort === 53).map((p) => p.protocol).sort()).toEqual(['TCP', 'UDP']);
    const paymentsPort = (find(SHOP_PODS.payments)?.spec?.containers as Array<{ ports: Array<{ containerPort: number }> }>)[0]?.ports[0]?.containerPort;
    expect(paymentsPort).toBe(8443);
  });

  it('has default-deny and DNS egress in every application namespace', () => {
    const policies = objects.filter((o) => o.kind === 'NetworkPolicy');
    for (const ns of Object.values(SHOP_NAMESPACES)) {
      const names = policies.filter((p) => p.metadata.namespace === ns).map((p) => p.metadata.name);
      expect(names).toContain(SHOP_POLICIES.defaultDeny);
      expect(names).toContain(SHOP_POLICIES.allowDns);
    }
    const dbIngress = policies.find((p) => p.metadata.name === SHOP_POLICIES.dbIngress);
    expect(JSON.stringify(dbIngress?.spec)).toContain('5432');
    expect(JSON.stringify(dbIngress?.spec)).toContain('6379');
  });

  it('returns fresh copies each time', () => {
    const a = shopObjects() as Obj[];
    (a[0] as Obj).metadata.name = 'mutated';
    expect((shopObjects()[0] as Obj).metadata.name).not.toBe('mutated');
    expect(shopPolicyObjects().length).toBe(objects.filter((o) => o.kind === 'NetworkPolicy').length);
  });
});
