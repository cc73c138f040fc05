// netpol-tests.yaml: the valid forms, every bad field with its file:line:col, unknown keys,
// YAML errors, hostile and oversized input, and the 10k-case limit.
import { describe, expect, it } from 'vitest';
import { NET_TEST_LIMITS, NetTestFileError, caseTitle, parseTestCases } from '../../src/nettest/cases.js';
import { parseTestEndpoint } from '../../src/nettest/endpoint.js';

/** The problems of a file that must be refused, as `line:col: path: message` (file name stripped). */
function problems(text: string): string[] {
  try {
    parseTestCases(text, 'netpol-tests.yaml');
  } catch (error) {
    if (!(error instanceof NetTestFileError)) throw error;
    expect(error.message.split('\n').slice(0, error.problems.length)).toEqual(error.problems.map((p) => `netpol-tests.yaml:${p.line}:${p.col}: ${p.path}: ${p.message}`));
    return error.problems.map((p) => `${p.line}:${p.col}: ${p.path}: ${p.message}`);
  }
  throw new Error('the file was accepted');
}

/** One case from its fields (YAML flow values), as the only case of a file: its problems. */
function caseProblems(fields: Record<string, string>): string[] {
  const body = Object.entries(fields)
    .map(([k, v], i) => `${i === 0 ? '  - ' : '    '}${k}: ${v}`)
    .join('\n');
  return problems(`cases:\n${body}\n`);
}

const ok = { from: 'frontend/web', to: 'api/orders', port: '8080', expect: 'allow' };

describe('parseTestCases: valid files', () => {
  it('reads every field, with TCP by default, and the line of each case', () => {
    const text = [
      'cases:',
      '  - name: web reaches the API',
      '    from: frontend/web',
      '    to: api/orders',
      '    port: 8080',
      '    protocol: TCP',
      '    expect: allow',
      '  # a comment between cases',
      '  - from: 203.0.113.0/24',
      '    to: "db/postgres[StatefulSet]"',
      '    port: "5432"',
      '    expect: deny',
      '  - {from: api/orders, to: kube-system/coredns, port: dns, protocol: udp, expect: ALLOW}',
      '  - {from: "2001:db8::/32", to: a/b-0, port: 1, protocol: Sctp, expect: Deny}',
      '  - {from: a/b, to: 10.1.2.3, port: 65535, expect: allow}',
    ].join('\n');
    const { cases } = parseTestCases(text, 'netpol-tests.yaml');
    expect(cases).toEqual([
      { name: 'web reaches the API', from: 'frontend/web', to: 'api/orders', port: 8080, protocol: 'TCP', expect: 'allow', origin: 'file', line: 2 },
      { from: '203.0.113.0/24', to: 'db/postgres[StatefulSet]', port: 5432, protocol: 'TCP', expect: 'deny', origin: 'file', line: 9 },
      { from: 'api/orders', to: 'kube-system/coredns', port: 'dns', protocol: 'UDP', expect: 'allow', origin: 'file', line: 13 },
      { from: '2001:db8::/32', to: 'a/b-0', port: 1, protocol: 'SCTP', expect: 'deny', origin: 'file', line: 14 },
      { from: 'a/b', to: '10.1.2.3', port: 65535, protocol: 'TCP', expect: 'allow', origin: 'file', line: 15 },
    ]);
    expect(cases.map(caseTitle)).toEqual(['web reaches the API', '203.0.113.0/24 → db/postgres[StatefulSet] 5432/TCP', 'api/orders → kube-system/coredns dns/UDP', '2001:db8::/32 → a/b-0 1/SCTP', 'a/b → 10.1.2.3 65535/TCP']);
  });

  it('trims names; an unnamed case may repeat another (only names must be unique)', () => {
    const { cases } = parseTestCases('cases:\n  - {name: "  spaced  ", from: a/b, to: c/d, port: 1, expect: allow}\n  - {from: a/b, to: c/d, port: 1, expect: allow}\n  - {from: a/b, to: c/d, port: 1, expect: allow}\n', 'f');
    expect(cases.map((c) => c.name)).toEqual(['spaced', undefined, undefined]);
  });

  it('takes exactly 10,000 cases', () => {
    const text = `cases:\n${Array.from({ length: NET_TEST_LIMITS.maxCases }, (_, i) => `  - {name: c${i}, from: a/w${i}, to: b/x, port: ${(i % 65535) + 1}, expect: allow}`).join('\n')}\n`;
    const { cases } = parseTestCases(text, 'big.yaml');
    expect(cases).toHaveLength(10_000);
    expect(cases[9_999]).toEqual({ name: 'c9999', from: 'a/w9999', to: 'b/x', port: 9_999 + 1, protocol: 'TCP', expect: 'allow', origin: 'file', line: 10_001 });
  });
});

describe('parseTestCases: every bad field, with its position', () => {
  it('name', () => {
    expect(caseProblems({ name: '42', ...ok })).toEqual(['2:11: cases[0].name: name must be a string']);
    expect(caseProblems({ name: '"  "', ...ok })).toEqual(['2:11: cases[0].name: name must not be empty (leave it out to name the case by its connection)']);
    expect(caseProblems({ name: 'x'.repeat(201), ...ok })).toEqual(['2:11: cases[0].name: name is longer than 200 characters']);
    expect(caseProblems({ name: '"a\\nb"', ...ok })).toEqual(['2:11: cases[0].name: name must not contain control characters (line breaks, tabs, escapes)']);
    expect(caseProblems({ name: '~', ...ok })).toEqual(['2:11: cases[0].name: name must be a string']);
  });

  it('from and to', () => {
    const at = (value: string, side: 'from' | 'to' = 'from'): string[] => caseProblems({ ...ok, [side]: value });
    expect(caseProblems({ to: 'a/b', port: '1', expect: 'allow' })).toEqual(['2:5: cases[0].from: from is required']);
    expect(at('7')).toEqual(['2:11: cases[0].from: from must be a string: <namespace>/<workload>, an IP address or a CIDR']);
    expect(at('"web"')).toEqual(['2:11: cases[0].from: "web" is neither <namespace>/<workload>, <namespace>/<workload>[Kind], an IP address nor a CIDR']);
    expect(at('a/b/c')).toEqual(['2:11: cases[0].from: "b/c" is not a workload or pod name (1-253 characters, no "/", "[", "]", blanks or control characters)']);
    expect(at('Frontend/web')).toEqual(['2:11: cases[0].from: "Frontend" is not a namespace name (a DNS-1123 label: lower-case letters, digits, "-", at most 63)']);
    expect(at(`${'n'.repeat(64)}/web`)).toEqual([`2:11: cases[0].from: "${'n'.repeat(64)}" is not a namespace name (a DNS-1123 label: lower-case letters, digits, "-", at most 63)`]);
    expect(at('"ns/"')).toEqual(['2:11: cases[0].from: "" is not a workload or pod name (1-253 characters, no "/", "[", "]", blanks or control characters)']);
    expect(at('"ns/web[deployment]"')).toEqual(['2:11: cases[0].from: "[deployment]" is not a workload kind such as [Deployment]']);
    expect(at('"ns/web[Deployment"')).toEqual(['2:11: cases[0].from: "ns/web[Deployment" is neither <namespace>/<workload>, <namespace>/<workload>[Kind], an IP address nor a CIDR']);
    expect(at('10.0.0.5/8', 'to')).toEqual(['3:9: cases[0].to: "10.0.0.5/8" has host bits set: the range it stands for is 10.0.0.0/8']);
    expect(at('10.0.0.0/33', 'to')).toEqual(['3:9: cases[0].to: "10.0.0.0/33" has an invalid prefix length (0-32)']);
    expect(at('"10.0.0.0/"', 'to')).toEqual(['3:9: cases[0].to: "10.0.0.0/" has an invalid prefix length (0-32)']);
    expect(at('"a/b c"', 'to')).toEqual(['3:9: cases[0].to: "b c" is not a workload or pod name (1-253 characters, no "/", "[", "]", blanks or control characters)']);
    expect(at(`a/${'x'.repeat(400)}`, 'to')).toEqual(['3:9: cases[0].to: is longer than 340 characters']);
    expect(at('""', 'to')).toEqual(['3:9: cases[0].to: must not be empty']);
  });

  it('port', () => {
    const at = (value: string): string[] => caseProblems({ ...ok, port: value });
    expect(caseProblems({ from: 'a/b', to: 'c/d', expect: 'allow' })).toEqual(['2:5: cases[0].port: port is required']);
    expect(at('0')).toEqual(['4:11: cases[0].port: port 0 is out of range (1-65535)']);
    expect(at('65536')).toEqual(['4:11: cases[0].port: port 65536 is out of range (1-65535)']);
    expect(at('80.5')).toEqual(['4:11: cases[0].port: port 80.5 is out of range (1-65535)']);
    expect(at('-1')).toEqual(['4:11: cases[0].port: port -1 is out of range (1-65535)']);
    expect(at('"99999"')).toEqual(['4:11: cases[0].port: port 99999 is out of range (1-65535)']);
    expect(at('true')).toEqual(['4:11: cases[0].port: port must be a number 1-65535 or a port name']);
    expect(at('[80]')).toEqual(['4:11: cases[0].port: port must be a number 1-65535 or a port name']);
    expect(at('HTTP')).toEqual(['4:11: cases[0].port: "HTTP" is not a valid port name (1-15 lowercase alphanumerics or \'-\', with a letter)']);
    expect(at('a-very-long-port-name')).toEqual(['4:11: cases[0].port: "a-very-long-port-name" is not a valid port name (1-15 lowercase alphanumerics or \'-\', with a letter)']);
    expect(at('my--port')).toEqual(['4:11: cases[0].port: "my--port" is not a valid port name (1-15 lowercase alphanumerics or \'-\', with a letter)']);
  });

  it('protocol and expect', () => {
    expect(caseProblems({ ...ok, protocol: 'ICMP' })).toEqual(['6:15: cases[0].protocol: protocol must be one of TCP, UDP, SCTP (got "ICMP")']);
    expect(caseProblems({ ...ok, protocol: '6' })).toEqual(['6:15: cases[0].protocol: protocol must be one of TCP, UDP, SCTP']);
    expect(caseProblems({ ...ok, expect: 'maybe' })).toEqual(['5:13: cases[0].expect: expect must be one of allow, deny (got "maybe")']);
    expect(caseProblems({ ...ok, expect: 'true' })).toEqual(['5:13: cases[0].expect: expect must be one of allow, deny']);
    expect(caseProblems({ from: 'a/b', to: 'c/d', port: '1' })).toEqual(['2:5: cases[0].expect: expect is required']);
  });

  it('checks across fields: two addresses, a named port towards an address, a duplicate name', () => {
    expect(caseProblems({ ...ok, from: '1.2.3.4', to: '10.0.0.0/8' })).toEqual(['3:9: cases[0].to: from and to are both addresses: one side must be a workload of the cluster']);
    expect(caseProblems({ ...ok, to: '8.8.8.8', port: 'dns' })).toEqual(['4:11: cases[0].port: named port "dns" is resolved on the destination pod, but to is an address: give the port number']);
    const dup = 'cases:\n  - {name: same, from: a/b, to: c/d, port: 1, expect: allow}\n  - {name: other, from: a/b, to: c/d, port: 2, expect: allow}\n  - {name: same, from: a/b, to: c/d, port: 3, expect: deny}\n';
    expect(problems(dup)).toEqual(['4:12: cases[2].name: "same" is already the name of cases[0] (line 2): names identify cases in reports']);
  });

  it('reports every problem of every case at once, in file order', () => {
    const text = [
      'cases:',
      '  - name: dup',
      '    from: a/b',
      '    to: 1.2.3.4',
      '    port: 0',
      '    expect: allow',
      '  - name: dup',
      '    from: 1.2.3.4',
      '    to: 10.0.0.0/8',
      '    prot: TCP',
      '    port: http',
      '    expect: nope',
      '  - 5',
      'extra: true',
    ].join('\n');
    expect(problems(text)).toEqual([
      '5:11: cases[0].port: port 0 is out of range (1-65535)',
      '7:11: cases[1].name: "dup" is already the name of cases[0] (line 2): names identify cases in reports',
      '9:9: cases[1].to: from and to are both addresses: one side must be a workload of the cluster',
      '10:5: cases[1].prot: unknown key (valid: name, from, to, port, protocol, expect)',
      '11:11: cases[1].port: named port "http" is resolved on the destination pod, but to is an address: give the port number',
      '12:13: cases[1].expect: expect must be one of allow, deny (got "nope")',
      '13:5: cases[2]: a case must be a mapping {name?, from, to, port, protocol?, expect}',
      '14:1: extra: unknown key (valid: cases)',
    ]);
  });
});

describe('parseTestCases: the file as a whole', () => {
  it('refuses a file without a list of cases', () => {
    expect(problems('')).toEqual(['1:1: (file): the file is empty: expected a mapping with a `cases:` list']);
    expect(problems('# only a comment\n')).toEqual(['1:1: (file): the file is empty: expected a mapping with a `cases:` list']);
    expect(problems('- from: a/b\n')).toEqual(['1:1: (file): expected a mapping with a `cases:` list']);
    expect(problems('"just text"\n')).toEqual(['1:1: (file): expected a mapping with a `cases:` list']);
    expect(problems('tests:\n  - {}\n')).toEqual(['1:1: tests: unknown key (valid: cases)', '1:1: cases: cases is required: a list of {name?, from, to, port, protocol?, expect}']);
    expect(problems('cases: {from: a/b}\n')).toEqual(['1:8: cases: cases must be a list of {name?, from, to, port, protocol?, expect}']);
    expect(problems('cases:\n')).toEqual(['1:7: cases: cases must be a list of {name?, from, to, port, protocol?, expect}']);
    expect(problems('cases: []\n')).toEqual(['1:8: cases: cases is empty: give at least one case']);
  });

  it('invalid YAML: the first syntax error with its line and column', () => {
    expect(problems('cases:\n  - from: a/b\n    to: c/d\n   port: 80\n')).toEqual(['4:1: (file): invalid YAML: Sequence item without - indicator']);
    expect(problems('cases:\n  - from: a/b\n\tto: c/d\n')).toEqual([expect.stringMatching(/^3:1: \(file\): invalid YAML: .*tab/i)]);
    expect(problems('cases:\n  - {from: a/b, to: "c/d\n')).toEqual(['3:1: (file): invalid YAML: Missing closing "quote']);
    expect(problems('cases:\n  - from: a/b\n    from: c/d\n')).toEqual(['3:5: (file): invalid YAML: Map keys must be unique']);
    expect(problems('cases: []\n---\ncases: []\n')).toEqual([expect.stringMatching(/^\d+:\d+: \(file\): invalid YAML: Source contains multiple documents/)]);
  });

  it('refuses an alias bomb without expanding it', () => {
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]', ...Array.from({ length: 8 }, (_, i) => `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10).fill(`*${String.fromCharCode(97 + i)}`).join(', ')}]`), 'cases: *i'].join('\n');
    const found = problems(bomb);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(/^1:1: \(file\): invalid YAML: .*alias/i);
  });

  it('refuses an oversized file, and more than 10,000 cases with one problem', () => {
    const huge = `cases:\n  - {from: a/b, to: c/d, port: 1, expect: allow, name: "${'x'.repeat(NET_TEST_LIMITS.maxFileBytes)}"}\n`;
    expect(problems(huge)).toEqual(['1:1: (file): the file is 4.0 MiB; at most 4 MiB is read']);
    const many = `cases:\n${Array.from({ length: NET_TEST_LIMITS.maxCases + 1 }, () => '  - {from: a/b, to: c/d, port: 1, expect: allow}').join('\n')}\n`;
    expect(problems(many)).toEqual(['2:3: cases: 10001 cases; at most 10000 are allowed (split the file, or test fewer connections)']);
  });

  it('keeps the first 200 problems and counts the rest', () => {
    const text = `cases:\n${Array.from({ length: 300 }, () => '  - {from: a/b, to: c/d, port: 0, expect: allow}').join('\n')}\n`;
    try {
      parseTestCases(text, 'many.yaml');
      throw new Error('accepted');
    } catch (error) {
      if (!(error instanceof NetTestFileError)) throw error;
      expect(error.problems).toHaveLength(200);
      expect(error.omitted).toBe(100);
      expect(error.message.split('\n').at(-1)).toBe('… and 100 more problem(s)');
      expect(error.problems[199]?.line).toBe(201);
    }
  });

  it('hostile values and keys are escaped in messages', () => {
    const found = caseProblems({ ...ok, '"\\e[2Jkey"': '1', expect: '"\\e[31mred"' });
    expect(found).toEqual(['5:13: cases[0].expect: expect must be one of allow, deny (got "\\x1b[31mred")', '6:5: cases[0].\\x1b[2Jkey: unknown key (valid: name, from, to, port, protocol, expect)']);
    expect(found.join('')).not.toContain('\u001b');
    const error = (() => {
      try {
        parseTestCases('cases: []', 'evil\u001b[2J.yaml');
      } catch (e) {
        return e as Error;
      }
      return undefined;
    })();
    expect(error?.message).toBe('evil\\x1b[2J.yaml:1:8: cases: cases is empty: give at least one case');
  });
});

describe('parseTestEndpoint', () => {
  it('tells workloads, addresses and ranges apart', () => {
    expect(parseTestEndpoint('ns/web')).toEqual({ kind: 'workload', text: 'ns/web', namespace: 'ns', name: 'web' });
    expect(parseTestEndpoint('ns/web[Deployment]')).toEqual({ kind: 'workload', text: 'ns/web[Deployment]', namespace: 'ns', name: 'web', workloadKind: 'Deployment' });
    expect(parseTestEndpoint('10.1.2.3')).toEqual({ kind: 'address', text: '10.1.2.3', family: 4, start: 0x0a010203n, end: 0x0a010203n, single: true });
    expect(parseTestEndpoint('10.1.2.3/32')).toMatchObject({ kind: 'address', single: true });
    expect(parseTestEndpoint('10.0.0.0/8')).toMatchObject({ kind: 'address', family: 4, start: 0x0a000000n, end: 0x0affffffn, single: false });
    expect(parseTestEndpoint('0.0.0.0/0')).toMatchObject({ start: 0n, end: 0xffffffffn });
    expect(parseTestEndpoint('fd00::/8')).toMatchObject({ kind: 'address', family: 6, single: false });
    expect(parseTestEndpoint('fd00::1')).toMatchObject({ kind: 'address', family: 6, single: true });
  });
});
