// Valid Alertmanager and Falcosidekick deliveries, shared by the webhook tests and the webhook
// property tests (which mutate them).
// Shape of Alertmanager's webhook_config payload (version 4), as documented by Prometheus.
export const alertmanager = {
  version: '4',
  groupKey: '{}:{alertname="DbEgressBytes"}',
  truncatedAlerts: 0,
  status: 'firing',
  receiver: 'netpol-responder',
  groupLabels: { alertname: 'DbEgressBytes' },
  commonLabels: { alertname: 'DbEgressBytes', severity: 'critical' },
  commonAnnotations: {},
  externalURL: 'http://alertmanager.example:9093',
  alerts: [
    {
      status: 'firing',
      labels: { alertname: 'DbEgressBytes', namespace: 'db', pod: 'postgres-0', app: 'postgres', severity: 'critical' },
      annotations: { summary: 'postgres-0 egress bytes 40x normal' },
      startsAt: '2026-01-15T09:58:00Z',
      endsAt: '0001-01-01T00:00:00Z',
      generatorURL: 'http://prometheus.example/graph',
      fingerprint: 'c0ffee',
    },
    { status: 'resolved', labels: { alertname: 'Old', namespace: 'db' }, annotations: {}, startsAt: '2026-01-15T08:00:00Z' },
    { status: 'firing', labels: { alertname: 'NodeDown' }, annotations: {}, startsAt: '2026-01-15T09:00:00Z' },
  ],
};

// Shape of Falcosidekick's webhook output.
export const falco = {
  uuid: '5a7d2f44-1111-4c1d-9a33-0d2d9c0b7f10',
  output: '10:00:00.000: Warning Outbound connection to C2 server (command=curl 203.0.113.66 pod=postgres-0 ns=db)',
  priority: 'Warning',
  rule: 'Outbound Connection to C2 Servers',
  time: '2026-01-15T10:00:00.000000000Z',
  source: 'syscall',
  hostname: 'falco-abcde',
  tags: ['network'],
  output_fields: { 'k8s.ns.name': 'db', 'k8s.pod.name': 'postgres-0', 'fd.sip': '203.0.113.66', 'proc.cmdline': 'curl 203.0.113.66', 'evt.time': 1768471200000000000 },
};
