// The manifests in deploy/ are what users apply first: they must parse, carry a configuration the
// bot accepts, and point their probes at paths the bot serves.
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { buildConfig } from '../../src/config/load.js';
import { BOT_PERMISSIONS, KINDS, isGranted } from '../../src/kube/index.js';

const deploy = join(import.meta.dirname, '../../deploy');
const env = { SLACK_BOT_TOKEN: 'xoxb-123-abc', SLACK_SIGNING_SECRET: 'secret-of-the-app' };

interface Container {
  args: string[];
  ports: { name: string; containerPort: number }[];
  livenessProbe: { httpGet: { path: string; port: string } };
  readinessProbe: { httpGet: { path: string; port: string } };
}

/** Manifests as plain data; the tests read the few fields they check. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Manifest = Record<string, any>;

function documents(file: string): Manifest[] {
  const docs = parseAllDocuments(readFileSync(join(deploy, file), 'utf8'));
  for (const doc of docs) expect(doc.errors).toEqual([]);
  return docs.map((d) => d.toJS() as Manifest);
}

describe('deploy/kubernetes.yaml', () => {
  const objects = documents('kubernetes.yaml');
  const configMap = objects.find((o) => o.kind === 'ConfigMap')!;
  const config = buildConfig(parse(configMap.data['netpol-responder.yaml'] as string), env);
  const deployments = objects.filter((o) => o.kind === 'Deployment');

  it('holds a configuration the bot accepts, with a collector and metrics', () => {
    expect(config.collector?.source.kind).toBe('hubble-relay');
    expect(config.metrics?.port).toBe(9464);
  });

  it('runs every role once across its Deployments, in the namespace and service account of rbac.yaml', () => {
    const rbac = documents('rbac.yaml');
    const account = rbac.find((o) => o.kind === 'ServiceAccount')!;
    const roles = deployments.flatMap((d) => {
      expect(d.metadata.namespace).toBe(account.metadata.namespace);
      expect(d.spec.template.spec.serviceAccountName).toBe(account.metadata.name);
      const args = (d.spec.template.spec.containers[0] as Container).args;
      return args[args.indexOf('--roles') + 1]!.split(',');
    });
    expect(roles.sort()).toEqual(['collector', 'watcher', 'web', 'worker']);
  });

  it('probes the metrics port at the paths the bot serves', () => {
    for (const deployment of deployments) {
      const container = deployment.spec.template.spec.containers[0] as Container;
      const metricsPort = container.ports.find((p) => p.name === 'metrics');
      expect(metricsPort?.containerPort).toBe(config.metrics?.port);
      expect(container.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'metrics' });
      expect(container.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'metrics' });
      expect(deployment.spec.selector.matchLabels).toEqual(deployment.spec.template.metadata.labels);
    }
    const service = objects.find((o) => o.kind === 'Service')!;
    const web = deployments.find((d) => (d.spec.template.spec.containers[0] as Container).args.join(' ').includes('web'))!;
    expect(web.spec.template.metadata.labels).toMatchObject(service.spec.selector);
    expect((web.spec.template.spec.containers[0] as Container).ports.find((p) => p.name === 'slack')?.containerPort).toBe(config.slack.port);
  });

  it('runs the web role in a Deployment of its own, the only one the Service sends Slack to', () => {
    const service = objects.find((o) => o.kind === 'Service')!;
    const selected = deployments.filter((d) => Object.entries(service.spec.selector as Record<string, string>).every(([k, v]) => d.spec.template.metadata.labels[k] === v));
    expect(selected.map((d) => d.metadata.name)).toEqual(['netpol-responder']);
    const args = (selected[0]!.spec.template.spec.containers[0] as Container).args;
    expect(args[args.indexOf('--roles') + 1]).toBe('web');
  });
});

/** Every (group, resource, verb) a ClusterRole's rules grant, as sortable strings. */
function grants(rules: Array<{ apiGroups: string[]; resources: string[]; verbs: string[] }>): string[] {
  return rules.flatMap((r) => r.apiGroups.flatMap((g) => r.resources.flatMap((res) => r.verbs.map((v) => `${g}/${res}:${v}`)))).sort();
}

describe('deploy/rbac.yaml', () => {
  const role = documents('rbac.yaml').find((o) => o.kind === 'ClusterRole')!;
  const fromCode = BOT_PERMISSIONS.map((p) => ({ apiGroups: [p.group], resources: [...p.resources], verbs: [...p.verbs] }));

  it('grants exactly the permissions src/kube/permissions.ts lists, with no wildcard', () => {
    expect(grants(role.rules)).toEqual(grants(fromCode));
    expect(JSON.stringify(role.rules)).not.toContain('*');
  });

  it('lets the bot do what containment needs on every kind it handles', () => {
    // CiliumClusterwideNetworkPolicy is only listed (the scheduled audit report): nothing reads one by name or writes it
    // (test/e2e/rbac-derived.test.ts derives the calls).
    for (const info of Object.values(KINDS)) if (info.kind !== 'CiliumClusterwideNetworkPolicy') expect(isGranted(info.group, info.plural, 'get'), `${info.kind} get`).toBe(true);
    expect(isGranted('cilium.io', 'ciliumclusterwidenetworkpolicies', 'list')).toBe(true);
    expect(isGranted('cilium.io', 'ciliumclusterwidenetworkpolicies', 'create')).toBe(false);
    for (const kind of ['NetworkPolicy', 'AdminNetworkPolicy', 'BaselineAdminNetworkPolicy', 'CiliumNetworkPolicy'] as const) {
      for (const verb of ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete']) expect(isGranted(KINDS[kind].group, KINDS[kind].plural, verb), `${kind} ${verb}`).toBe(true);
    }
    expect(isGranted('', 'pods', 'patch')).toBe(true);
    expect(isGranted('argoproj.io', 'applications', 'patch')).toBe(true);
    expect(isGranted('argoproj.io', 'applications', 'list')).toBe(true);
    expect(isGranted('', 'pods', 'delete')).toBe(false);
    expect(isGranted('argoproj.io', 'applications', 'delete')).toBe(false);
  });

  it('a rule missing from the manifest is caught', () => {
    const trimmed = role.rules.filter((r: { apiGroups: string[] }) => !r.apiGroups.includes('cilium.io'));
    expect(grants(trimmed)).not.toEqual(grants(fromCode));
  });
});

// The image and the manifests must agree: the kubelet refuses runAsNonRoot with a non-numeric
// image user, and a read-only root filesystem fails any write outside a mounted volume.
interface Instruction {
  keyword: string;
  args: string;
}

/** Dockerfile instructions, with continuation lines joined and comments dropped. */
function dockerInstructions(text: string): Instruction[] {
  const logical = text
    .split('\n')
    .filter((line) => !/^\s*#/.test(line))
    .join('\n')
    .replace(/\\\n/g, ' ');
  return logical
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .map((line) => {
      const [keyword = '', ...rest] = line.split(/\s+/);
      return { keyword: keyword.toUpperCase(), args: rest.join(' ') };
    });
}

function finalStage(text: string): Instruction[] {
  const instructions = dockerInstructions(text);
  const lastFrom = instructions.map((i) => i.keyword).lastIndexOf('FROM');
  return instructions.slice(lastFrom);
}

/** uid and gid of the final stage's USER, when both are numbers. */
function imageUser(text: string): { problems: string[]; uid?: number; gid?: number } {
  const user = finalStage(text).filter((i) => i.keyword === 'USER').at(-1)?.args;
  if (!user) return { problems: ['the final stage sets no USER: the image runs as root'] };
  const match = /^(\d+):(\d+)$/.exec(user);
  if (!match) return { problems: [`USER ${user}: must be numeric uid:gid, or the kubelet cannot verify runAsNonRoot`] };
  return { problems: [], uid: Number(match[1]), gid: Number(match[2]) };
}

/** The runtime stage must run compiled JavaScript from the build stage, without dev dependencies. */
function runtimeProblems(text: string): string[] {
  const problems: string[] = [];
  const stage = finalStage(text);
  const entry = stage.filter((i) => i.keyword === 'ENTRYPOINT').at(-1)?.args ?? '';
  if (!/^\["node", "(bin\/netpol-responder\.js|dist\/cli\.js)"\]$/.test(entry)) problems.push(`ENTRYPOINT ${entry}: must run node on the compiled CLI`);
  for (const i of stage) if (/\btsx\b|\.ts\b/.test(i.args)) problems.push(`${i.keyword} ${i.args}: the runtime stage runs no TypeScript`);
  if (!stage.some((i) => i.keyword === 'RUN' && /npm ci\b.*--omit=dev/.test(i.args))) problems.push('the runtime stage must install with npm ci --omit=dev');
  if (!stage.some((i) => i.keyword === 'COPY' && /--from=\S+ \S*\/dist \.\/dist$/.test(i.args))) problems.push('the runtime stage must copy dist/ from the build stage');
  if (stage.some((i) => i.keyword === 'COPY' && /^src\b/.test(i.args))) problems.push('the runtime stage must not copy src/');
  const build = dockerInstructions(text).slice(0, dockerInstructions(text).length - stage.length);
  if (!build.some((i) => i.keyword === 'RUN' && /npm run build\b/.test(i.args))) problems.push('no build stage runs npm run build');
  return problems;
}

const FULL_CONTAINER_CONTEXT = { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } };

function securityProblems(deployment: Manifest, uid: number, gid: number): string[] {
  const name = deployment.metadata.name as string;
  const pod = deployment.spec.template.spec as Manifest;
  const problems: string[] = [];
  const expected = { runAsNonRoot: true, runAsUser: uid, runAsGroup: gid, fsGroup: gid, seccompProfile: { type: 'RuntimeDefault' } };
  for (const [key, value] of Object.entries(expected)) {
    if (JSON.stringify(pod.securityContext?.[key]) !== JSON.stringify(value)) problems.push(`${name}: pod securityContext.${key} must be ${JSON.stringify(value)}`);
  }
  for (const container of [...(pod.containers ?? []), ...(pod.initContainers ?? [])] as Manifest[]) {
    for (const [key, value] of Object.entries(FULL_CONTAINER_CONTEXT)) {
      if (JSON.stringify(container.securityContext?.[key]) !== JSON.stringify(value)) problems.push(`${name}/${container.name}: securityContext.${key} must be ${JSON.stringify(value)}`);
    }
    for (const key of ['runAsUser', 'runAsGroup', 'runAsNonRoot', 'privileged']) {
      if (container.securityContext?.[key] !== undefined && container.securityContext[key] !== pod.securityContext?.[key]) problems.push(`${name}/${container.name}: securityContext.${key} overrides the pod's`);
    }
  }
  return problems;
}

/** The roles a Deployment's container runs (its --roles argument). */
function rolesOf(deployment: Manifest): string[] {
  const args = (deployment.spec.template.spec.containers[0] as Container).args;
  const at = args.indexOf('--roles');
  return at < 0 ? [] : (args[at + 1] ?? '').split(',');
}

/** Each path must be an absolute path on a writable emptyDir mount (the root filesystem is read-only). */
function writableProblems(deployment: Manifest, paths: string[]): string[] {
  const pod = deployment.spec.template.spec as Manifest;
  const emptyDirs = new Set((pod.volumes as Manifest[]).filter((v) => v.emptyDir !== undefined).map((v) => v.name as string));
  const problems: string[] = [];
  for (const container of pod.containers as Manifest[]) {
    for (const path of paths) {
      if (!isAbsolute(path)) {
        problems.push(`${container.name}: ${path} is relative to the read-only working directory`);
        continue;
      }
      const mount = (container.volumeMounts as Manifest[]).find((m) => path === m.mountPath || path.startsWith(`${m.mountPath as string}/`));
      if (!mount || mount.readOnly || !emptyDirs.has(mount.name as string)) problems.push(`${container.name}: ${path} is not on a writable emptyDir mount`);
    }
  }
  return problems;
}

describe('deploy/Dockerfile with deploy/kubernetes.yaml', () => {
  const dockerfile = readFileSync(join(deploy, 'Dockerfile'), 'utf8');
  const objects = documents('kubernetes.yaml');
  const configMap = objects.find((o) => o.kind === 'ConfigMap')!;
  const config = buildConfig(parse(configMap.data['netpol-responder.yaml'] as string), env);
  const deployments = objects.filter((o) => o.kind === 'Deployment');
  const user = imageUser(dockerfile);

  it('the image runs as a numeric non-root user', () => {
    expect(user.problems).toEqual([]);
    expect(user.uid).toBeGreaterThan(0);
    expect(user.gid).toBeGreaterThan(0);
  });

  it('every Deployment runs as the image user with the full securityContext', () => {
    expect(deployments.length).toBe(3);
    expect(deployments.flatMap((d) => securityProblems(d, user.uid!, user.gid!))).toEqual([]);
  });

  it('every path the bot writes (export.dir, /tmp, and git.dir where the worker or watcher role runs) is a writable emptyDir mount', () => {
    expect(config.export.dir).toBe('/var/lib/netpol-responder/postmortem');
    expect(deployments.flatMap((d) => writableProblems(d, [config.export.dir, '/tmp']))).toEqual([]);
    // Policy repositories are cloned by the worker role (steps) and the watcher role (the drift monitor).
    const cloning = deployments.filter((d) => rolesOf(d).some((role) => role === 'worker' || role === 'watcher'));
    expect(cloning.map(rolesOf).flat().sort()).toEqual(expect.arrayContaining(['watcher', 'worker']));
    expect(cloning.flatMap((d) => writableProblems(d, [config.git!.dir]))).toEqual([]);
  });

  it('every file the Dockerfile copies from the build context exists and is let through its .dockerignore', () => {
    const ignore = readFileSync(join(deploy, 'Dockerfile.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
    expect(ignore[0]).toBe('**');
    const allowed = ignore.slice(1).map((rule) => rule.replace(/^!/, '').replace(/\/\*\*$/, ''));
    const sources = dockerInstructions(dockerfile)
      .filter((i) => i.keyword === 'COPY' && !i.args.startsWith('--from='))
      .flatMap((i) => i.args.split(/\s+/).slice(0, -1));
    expect(sources.length).toBeGreaterThan(0);
    for (const source of sources) {
      expect(existsSync(join(deploy, '..', source)), source).toBe(true);
      expect(allowed, source).toContain(source);
    }
  });

  it('the image runs compiled JavaScript built in its own stage, and tsx is not a runtime dependency', () => {
    expect(runtimeProblems(dockerfile)).toEqual([]);
    const pkg = JSON.parse(readFileSync(join(deploy, '../package.json'), 'utf8')) as { dependencies: Record<string, string> };
    expect(Object.keys(pkg.dependencies)).not.toContain('tsx');
  });

  describe('the checks catch what the kubelet or the image would refuse', () => {
    const deployment = structuredClone(deployments[0]!);
    const uid = user.uid!;
    const gid = user.gid!;

    it.each([
      ['FROM node:20\nUSER node\n', 'USER node: must be numeric uid:gid'],
      ['FROM node:20\nUSER 1000\n', 'USER 1000: must be numeric uid:gid'],
      ['FROM node:20\n', 'the final stage sets no USER'],
      ['FROM node:20\nUSER 10001:10001\nFROM node:20\n', 'the final stage sets no USER'],
      ['FROM node:20\n# USER 10001:10001\n', 'the final stage sets no USER'],
    ])('image user of %j', (text, message) => {
      expect(imageUser(text).problems.join('\n')).toContain(message);
    });

    it.each([
      [dockerfile.replace('ENTRYPOINT ["node", "bin/netpol-responder.js"]', 'ENTRYPOINT ["npx", "tsx", "src/cli.ts"]'), 'must run node on the compiled CLI'],
      [`${dockerfile}\nCOPY src ./src\n`, 'must not copy src/'],
      [`${dockerfile}\nRUN node --import tsx src/cli.ts --help\n`, 'runs no TypeScript'],
      [dockerfile.replace('--omit=dev ', ''), 'npm ci --omit=dev'],
      [dockerfile.replace(/^COPY --from=.*$/m, ''), 'copy dist/ from the build stage'],
      [dockerfile.replace('RUN npm run build', 'RUN true'), 'npm run build'],
    ])('runtime stage problem %#', (text, message) => {
      expect(runtimeProblems(text).join('\n')).toContain(message);
    });

    it('a missing or weakened securityContext is reported', () => {
      expect(securityProblems(deployment, uid + 1, gid)).toEqual([expect.stringContaining('runAsUser must be')]);
      const weak = structuredClone(deployment);
      delete weak.spec.template.spec.securityContext.seccompProfile;
      weak.spec.template.spec.containers[0].securityContext.readOnlyRootFilesystem = false;
      weak.spec.template.spec.containers[0].securityContext.capabilities = { drop: ['NET_RAW'] };
      weak.spec.template.spec.containers[0].securityContext.runAsUser = 0;
      const problems = securityProblems(weak, uid, gid).join('\n');
      for (const part of ['seccompProfile', 'readOnlyRootFilesystem', 'capabilities', 'runAsUser overrides']) expect(problems).toContain(part);
    });

    it('a write path without a writable emptyDir mount is reported', () => {
      expect(writableProblems(deployment, ['postmortem'])).toEqual([expect.stringContaining('relative to the read-only working directory')]);
      expect(writableProblems(deployment, ['/var/lib/other'])).toEqual([expect.stringContaining('/var/lib/other is not on a writable emptyDir mount')]);
      expect(writableProblems(deployment, ['/config/out'])).toEqual([expect.stringContaining('/config/out is not on a writable emptyDir mount')]);
      expect(writableProblems(deployment, ['/tmpfoo'])).toEqual([expect.stringContaining('/tmpfoo is not on a writable emptyDir mount')]);
      const readOnly = structuredClone(deployment);
      readOnly.spec.template.spec.containers[0].volumeMounts.find((m: Manifest) => m.mountPath === '/tmp').readOnly = true;
      expect(writableProblems(readOnly, ['/tmp'])).toEqual([expect.stringContaining('/tmp is not on a writable emptyDir mount')]);
    });
  });
});
