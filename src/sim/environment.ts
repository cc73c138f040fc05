// The embedded environment: simulated cluster (seeded with the shop), Slack stand-in, and the bot
// wired to both over loopback. `npm run demo` and the end-to-end tests both start it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { silentLogger, type Logger } from '../log.js';
import { startBot, type RunningBot } from '../runtime.js';
import { loadKubeConfig } from '../kube/config.js';
import { createKubeGateway } from '../kube/gateway.js';
import { startSimArgoCd, type SimArgoCd } from './argocd-controller.js';
import { gitHostRepository, startGitHost, type GitHost } from './git-host.js';
import { startShopRelay, type ShopRelay } from './hubble/shop-relay.js';
import { startKubeApiServer, type ClusterOptions, type KubeApiSim } from './kube/index.js';
import { SHOP_ARGOCD, shopObjects } from './scenarios/shop.js';
import { createShopGitRepository, SHOP_GIT_BRANCH, SHOP_GIT_POLICY_DIR, type ShopGitRepository } from './scenarios/shop-git.js';
import { SlackDriver, startSlackApiServer, type SlackApiSim } from './slack/index.js';
import { DEFAULT_LANE_SLOTS } from '../queue/jobs.js';

export const DEMO_USERS = {
  oncall: { id: 'U0ALICE', name: 'alice', real_name: 'Alice (on-call SRE)' },
  approver: { id: 'U0BOB', name: 'bob', real_name: 'Bob (security lead)' },
  secondApprover: { id: 'U0CAROL', name: 'carol', real_name: 'Carol (platform lead)' },
  outsider: { id: 'U0MALLORY', name: 'mallory', real_name: 'Mallory (not an approver)' },
} as const;
export const DEMO_CHANNEL = 'C0INCIDENTS';
/** How long before the environment starts the shop's objects were created. */
const SHOP_AGE_MS = 2 * 86_400_000;
export const APPROVERS_GROUP = 'S0SECOPS';
const SIGNING_SECRET = 'demo-signing-secret-0123456789';
export const WEBHOOK_TOKEN = 'demo-webhook-token-0123456789';
export const AUDIT_WEBHOOK_TOKEN = 'demo-audit-webhook-token-0123456789';
/** The token the Git host stand-in accepts (gitHost), for Git and its API alike. */
export const GIT_HOST_TOKEN = 'demo-git-host-token-0123456789';
/** The shop's repository on the Git host stand-in (gitHost). */
export const GIT_HOST_PROJECT = 'shop/policies';

export interface EnvironmentOptions {
  /** The bot's Redis in single mode (REDIS_URL); leave it out when `redis` names a cluster or Sentinels. */
  redisUrl?: string;
  /** The config file's `redis` section besides keyPrefix (mode, nodes, sentinels, masterName). */
  redis?: Record<string, unknown>;
  /** Also start the Hubble Relay stand-in (shop traffic) and the bot's collector role. */
  flows?: boolean;
  /**
   * Run the collector role against this Hubble Relay (host:port) instead of the shop stand-in,
   * with real time as the flow clock (benchmarks feed it from another thread).
   */
  relayAddress?: string;
  /** The collector's learning period (default 1h). */
  learningPeriod?: string;
  /** The config file's `anomalies` section (e.g. automatic response rules and their limit). */
  anomalies?: Record<string, unknown>;
  /** Serve the bot's Prometheus metrics on a free loopback port (RunningBot.metricsPort). */
  metrics?: boolean;
  keyPrefix?: string;
  playbookPath?: string;
  roles?: Config['roles'];
  worker?: Partial<Config['worker']>;
  logger?: Logger;
  /** Start the bot now (default) or leave it to the caller (e.g. a worker in a child process). */
  startBot?: boolean;
  /** Connect the bot over Socket Mode (SLACK_APP_TOKEN set) instead of its HTTP receiver. */
  socketMode?: boolean;
  /**
   * The CRDs the simulated cluster serves: `cni: 'cilium'` (CiliumNetworkPolicy), `adminNetworkPolicy`
   * (AdminNetworkPolicy, BaselineAdminNetworkPolicy), `argocd` (Application, and the shop's
   * Application syncing its policies). Default: none, NetworkPolicy only.
   */
  cluster?: ClusterOptions;
  /**
   * Keep the shop's policies in a real Git repository (a bare remote in the environment's temp
   * dir, three weeks of history by erin, frank and dave) and configure it as `git.repositories`.
   */
  git?: boolean;
  /**
   * Run Argo CD's application controller (./argocd-controller.ts) for the shop's Application, which
   * then deploys the shop's Git repository: needs `git` and `cluster.argocd`.
   */
  gitops?: boolean;
  /**
   * Serve the shop's repository (needs `git`) from the Git host stand-in (./git-host.ts) as
   * GitHub or GitLab: the bot's repository url points at it over http with a token file, and its
   * `pullRequests` at the stand-in's API, so proposals open pull or merge requests there.
   */
  gitHost?: 'github' | 'gitlab';
  /** The config file's `containment` section (e.g. argocd.skipReconcile). */
  containment?: Partial<Config['containment']>;
  /**
   * Serve several simulated clusters (config `clusters`), each its own API server seeded with the
   * shop: the first is `kube`, every one is in `clusters` by name. Default: one cluster, no `clusters`.
   */
  clusters?: string[];
}

/** One simulated cluster of a several-cluster environment. */
export interface EnvironmentCluster {
  kube: KubeApiSim;
  kubeconfigPath: string;
  /** Its Hubble Relay stand-in (flows: true): the first cluster's is `hubble`. */
  hubble?: ShopRelay;
}

/** The shop's policy repository (git: true): the remote, the bot's clone directory (git.dir), the history. */
export interface EnvironmentGit extends ShopGitRepository {
  /** git.dir of the bot's configuration: where its clones go. */
  dir: string;
  /** The repository's name in git.repositories. */
  name: string;
}

/** Argo CD runs and has synced the shop's Application once: every shop policy is its own (tracking id, field manager). */
async function deployedByArgoCd(kubeconfigPath: string, git: ShopGitRepository): Promise<SimArgoCd> {
  const argocd = await startSimArgoCd({ kubeconfigPath, repositories: { [git.remoteUrl]: git.remoteDir }, namespace: SHOP_ARGOCD.namespace });
  const apps = createKubeGateway(loadKubeConfig({ kubeconfigPath })).objects('Application');
  await apps.mergePatch({ namespace: SHOP_ARGOCD.namespace, name: SHOP_ARGOCD.application }, { operation: { initiatedBy: { username: 'admin' }, sync: { revision: SHOP_GIT_BRANCH } } }, { fieldManager: 'argocd-server' });
  const deadline = Date.now() + 30_000;
  while (argocd.syncs.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
  const first = argocd.syncs[0];
  if (first?.phase !== 'Succeeded') {
    await argocd.close();
    throw new Error(`Argo CD's first sync of the shop did not succeed: ${first ? first.message : 'no sync within 30 s'}`);
  }
  return argocd;
}

/** true once the bot's collector has read the shop relay's whole normal history (flows: true). */
export function collectorHasReadHistory(env: EmbeddedEnvironment): boolean {
  const read = env.bot?.collector?.pipeline.counts.read ?? 0;
  return env.hubble !== undefined && read >= env.hubble.historyFlows;
}

export interface EmbeddedEnvironment {
  kube: KubeApiSim;
  hubble?: ShopRelay;
  slack: SlackApiSim;
  bot?: RunningBot;
  driver?: SlackDriver;
  git?: EnvironmentGit;
  /** The simulated Argo CD controller (gitops: true). */
  argocd?: SimArgoCd;
  /** The Git host stand-in serving the shop's repository as GIT_HOST_PROJECT (gitHost). */
  gitHost?: GitHost;
  config: Config;
  kubeconfigPath: string;
  /** The simulated clusters by name (option `clusters`); empty otherwise. */
  clusters: Map<string, EnvironmentCluster>;
  /** Environment variables a separate bot process needs to join this environment. */
  env: Record<string, string>;
  /** Starts the bot (or another replica of it) in this process. */
  startBot(overrides?: Partial<Pick<Config, 'roles' | 'git' | 'secrets' | 'drift'>>): Promise<RunningBot>;
  stop(): Promise<void>;
}

export async function startEmbeddedEnvironment(options: EnvironmentOptions): Promise<EmbeddedEnvironment> {
  if (options.gitHost && !options.git) throw new Error('the gitHost option needs git: true');
  const kube = await startKubeApiServer(options.cluster ? { cluster: options.cluster } : {});
  const dir = mkdtempSync(join(tmpdir(), 'netpol-env-'));
  // The shop ran for a while before the story starts: its objects are two days old.
  const git = options.git ? { ...(await createShopGitRepository(dir)), dir: join(dir, 'git-clones'), name: 'shop-policies' } : undefined;
  if (options.gitops && (!git || options.cluster?.argocd !== true)) throw new Error('the gitops option needs git: true and cluster.argocd: true');
  const gitHost = options.gitHost ? await startGitHost({ flavor: options.gitHost, token: GIT_HOST_TOKEN }) : undefined;
  // With gitHost the bot goes through the stand-in with a token; Argo CD keeps reading the bare repository.
  const gitRepository = git && {
    name: git.name,
    url: git.remoteUrl,
    branch: SHOP_GIT_BRANCH,
    paths: [SHOP_GIT_POLICY_DIR],
    ...(gitHost ? gitHostRepository(gitHost, GIT_HOST_PROJECT, git.remoteDir, dir) : {}),
  };
  kube.seed(shopObjects({ argocd: options.cluster?.argocd === true, ...(options.gitops && git ? { argocdRepoUrl: git.remoteUrl } : {}) }), { createdAt: new Date(Date.now() - SHOP_AGE_MS) });
  const kubeconfigPath = kube.writeKubeconfig(dir);
  const clusters = new Map<string, EnvironmentCluster>();
  for (const [index, name] of (options.clusters ?? []).entries()) {
    const clusterKube = index === 0 ? kube : await startKubeApiServer(options.cluster ? { cluster: options.cluster } : {});
    if (index > 0) clusterKube.seed(shopObjects({ argocd: options.cluster?.argocd === true }), { createdAt: new Date(Date.now() - SHOP_AGE_MS) });
    clusters.set(name, { kube: clusterKube, kubeconfigPath: index === 0 ? kubeconfigPath : clusterKube.writeKubeconfig(join(dir, `cluster-${name}`)) });
  }
  const argocd = options.gitops && git ? await deployedByArgoCd(kube.writeKubeconfig(join(dir, 'argocd'), 'argocd-application-controller'), git) : undefined;
  const slack = await startSlackApiServer({
    users: Object.values(DEMO_USERS).map((u) => ({ ...u })),
    usergroups: { [APPROVERS_GROUP]: [DEMO_USERS.secondApprover.id] },
  });
  const hubble = options.flows && !options.relayAddress ? await startShopRelay() : undefined;
  for (const [index, c] of [...clusters.values()].entries()) if (hubble) c.hubble = index === 0 ? hubble : await startShopRelay();
  const relayAddress = options.relayAddress ?? hubble?.address;
  const env: Record<string, string> = {
    NETPOL_WEBHOOK_TOKEN: WEBHOOK_TOKEN,
    NETPOL_AUDIT_WEBHOOK_TOKEN: AUDIT_WEBHOOK_TOKEN,
    SLACK_BOT_TOKEN: slack.botToken,
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    ...(options.redisUrl ? { REDIS_URL: options.redisUrl } : {}),
    KUBECONFIG: kubeconfigPath,
    ...(options.socketMode ? { SLACK_APP_TOKEN: slack.appToken } : {}),
  };
  const config = buildConfig(
    {
      slack: {
        incidentChannel: DEMO_CHANNEL,
        approvers: { users: [DEMO_USERS.approver.id], usergroups: [APPROVERS_GROUP] },
        apiUrl: slack.apiUrl,
        port: 0,
        host: '127.0.0.1',
      },
      redis: { keyPrefix: options.keyPrefix ?? 'netpol-demo', ...options.redis },
      kube: { applyRetryDelayMs: 20 },
      ...(options.playbookPath ? { playbook: { path: options.playbookPath } } : {}),
      roles: options.roles ?? (relayAddress ? ['web', 'worker', 'watcher', 'collector'] : ['web', 'worker', 'watcher']),
      ...(relayAddress
        ? {
            collector: {
              source: { kind: 'hubble-relay', address: relayAddress, ...(hubble ? { since: new Date(0).toISOString() } : {}) },
              learningPeriod: options.learningPeriod ?? '1h',
              cooldown: '15m',
            },
          }
        : {}),
      worker: { concurrency: 8, proposalConcurrency: DEFAULT_LANE_SLOTS.proposals, backgroundConcurrency: DEFAULT_LANE_SLOTS.background, lockDurationMs: 30_000, stalledIntervalMs: 15_000, ...options.worker },
      ...(options.metrics ? { metrics: { port: 0, host: '127.0.0.1' } } : {}),
      ...(options.anomalies ? { anomalies: options.anomalies } : {}),
      ...(options.containment ? { containment: options.containment } : {}),
      ...(git ? { git: { dir: git.dir, repositories: [gitRepository] } } : {}),
      ...(clusters.size > 0 ? { clusters: [...clusters].map(([name, c]) => ({ name, kube: { kubeconfig: c.kubeconfigPath }, ...(c.hubble ? { relay: c.hubble.address } : {}) })) } : {}),
    },
    env,
    'embedded environment',
  );
  const logger = options.logger ?? silentLogger;
  const bots: RunningBot[] = [];
  const environment: EmbeddedEnvironment = {
    kube,
    hubble,
    slack,
    ...(git ? { git } : {}),
    ...(argocd ? { argocd } : {}),
    ...(gitHost ? { gitHost } : {}),
    config,
    kubeconfigPath,
    clusters,
    env,
    async startBot(overrides = {}) {
      // The shop's flows carry the scenario's own times: the collector's clock is the scenario's.
      const flowClock = hubble ? () => hubble.incidentStart + 3_600_000 : undefined;
      const bot = await startBot({ config: { ...config, ...overrides }, logger, flowClock });
      bots.push(bot);
      if (bot.port !== undefined && !environment.driver) {
        environment.bot = bot;
        environment.driver = new SlackDriver({ appUrl: `http://127.0.0.1:${bot.port}/slack/events`, signingSecret: SIGNING_SECRET, sim: slack });
        // The simulated apiserver's audit webhook backend points at the bot, as a real one would.
        if (clusters.size === 0) kube.setAuditWebhook({ url: `http://127.0.0.1:${bot.port}/webhooks/k8s-audit`, token: AUDIT_WEBHOOK_TOKEN });
        for (const [name, c] of clusters) c.kube.setAuditWebhook({ url: `http://127.0.0.1:${bot.port}/webhooks/k8s-audit?cluster=${name}`, token: AUDIT_WEBHOOK_TOKEN });
      } else if (options.socketMode && bot.port === undefined && (overrides.roles ?? config.roles).includes('web') && !environment.driver) {
        // A Socket Mode bot has no port: Slack (the stand-in) reaches it over the connection it opened.
        environment.bot = bot;
        environment.driver = new SlackDriver({ mode: 'socket', sim: slack });
      }
      return bot;
    },
    async stop() {
      for (const bot of bots.reverse()) await bot.stop();
      await slack.close();
      await argocd?.close();
      await gitHost?.close();
      await kube.close();
      for (const c of clusters.values()) if (c.kube !== kube) await c.kube.close();
      await hubble?.stop();
      for (const c of clusters.values()) if (c.hubble !== hubble) await c.hubble?.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  if (options.startBot !== false) await environment.startBot();
  return environment;
}
