// The shop's policies in Git: a bare repository (the "remote" the GitOps tool and the bot fetch)
// with three weeks of history by three people. The last commit's tree declares exactly
// shopPolicyObjects(), so the simulated cluster and Git agree until someone changes one of them.
// dave's bad commit (db egress opened to the world) and erin's revert of it are added on demand
// (one at a time: each appends to the branch).
import { join } from 'node:path';
import { stringify } from 'yaml';
import { branchTip, createBareRepository, writeHistory, type HistoryCommit, type HistoryPerson } from '../git-remote.js';
import { ALLOW_ALL_EGRESS, SHOP_NAMESPACES, SHOP_POLICIES, SHOP_PORTS, shopPolicyObjects } from './shop.js';

export const SHOP_GIT_PEOPLE = {
  erin: { name: 'Erin Platform', email: 'erin@shop.example' },
  frank: { name: 'Frank Checkout', email: 'frank@shop.example' },
  dave: { name: 'Dave Data', email: 'dave@shop.example' },
} as const satisfies Record<string, HistoryPerson>;

export const SHOP_GIT_BRANCH = 'main';
/** The directory of the repository that holds the manifests (the Argo CD Application's path). */
export const SHOP_GIT_POLICY_DIR = 'policies';

export interface ShopGitCommit {
  sha: string;
  author: HistoryPerson;
  time: string;
  subject: string;
  /** Files the commit added, changed or deleted (the new name for a rename). */
  files: string[];
}

export interface BadCommit extends ShopGitCommit {
  /** The file it adds, and the object in it. */
  path: string;
  object: Record<string, unknown>;
}

export interface ShopGitRepository {
  /** The bare repository's directory, and its file:// URL (what git.repositories[].url takes). */
  remoteDir: string;
  remoteUrl: string;
  commits: ShopGitCommit[];
  /** The file of a shop policy at the branch's head (undefined when Git does not hold it). */
  pathOf(namespace: string, name: string): string | undefined;
  /** dave opens db's egress to the whole world "to debug the backup job" (ALLOW_ALL_EGRESS); tests may give his name and the message. */
  addBadCommit(options?: { at?: Date; authorName?: string; message?: string }): Promise<BadCommit>;
  /** erin reverts dave's commit in Git (the GitOps tool has not applied that yet). */
  revertBadCommit(options?: { at?: Date }): Promise<ShopGitCommit>;
}

type Obj = Record<string, unknown>;
const DAY = 86_400_000;
const BAD_PATH = `${SHOP_GIT_POLICY_DIR}/db/allow-all-egress.yaml`;
const OLD_DB_INGRESS_PATH = `${SHOP_GIT_POLICY_DIR}/db/ingress-from-api.yaml`;

function meta(obj: Obj): { name: string; namespace: string } {
  return obj.metadata as { name: string; namespace: string };
}

function fileOf(obj: Obj): string {
  const { name, namespace } = meta(obj);
  return `${SHOP_GIT_POLICY_DIR}/${namespace}/${name}.yaml`;
}

function yamlOf(obj: Obj): string {
  return stringify(obj, { lineWidth: 0 });
}

function kustomization(files: Iterable<string>): string {
  const resources = [...files].map((f) => f.slice(SHOP_GIT_POLICY_DIR.length + 1)).sort();
  return yamlOf({ apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', resources });
}

/** The shop's history, oldest first. Each commit also rewrites policies/kustomization.yaml. */
function shopHistory(now: number): HistoryCommit[] {
  const policies = shopPolicyObjects() as Obj[];
  const find = (namespace: string, name: string): Obj => policies.find((p) => meta(p).namespace === namespace && meta(p).name === name) as Obj;
  const { frontend, api, db } = SHOP_NAMESPACES;
  const { erin, frank, dave } = SHOP_GIT_PEOPLE;
  const baselines = [frontend, api, db].flatMap((ns) => [find(ns, SHOP_POLICIES.defaultDeny), find(ns, SHOP_POLICIES.allowDns)]);
  const dbIngress = find(db, SHOP_POLICIES.dbIngress);
  // dave first let only postgres in; redis came later.
  const dbIngressPostgresOnly = structuredClone(dbIngress);
  ((dbIngressPostgresOnly.spec as Obj).ingress as Obj[])[0]!.ports = [{ protocol: 'TCP', port: SHOP_PORTS.postgres }];
  const files = (...objs: Obj[]): Record<string, string> => Object.fromEntries(objs.map((o) => [fileOf(o), yamlOf(o)]));
  return [
    { author: erin, time: new Date(now - 21 * DAY), message: 'Default-deny and DNS egress for frontend, api and db', files: files(...baselines) },
    { author: frank, time: new Date(now - 17 * DAY), message: 'frontend: web pods take traffic on 8080', files: files(find(frontend, SHOP_POLICIES.frontendIngress)) },
    {
      author: frank,
      time: new Date(now - 16 * DAY),
      message: 'frontend -> api on 8080 and 8443',
      files: files(find(frontend, SHOP_POLICIES.frontendToApi), find(api, SHOP_POLICIES.apiIngress)),
    },
    { author: dave, time: new Date(now - 12 * DAY), message: 'db: accept postgres from the api tier', files: { [OLD_DB_INGRESS_PATH]: yamlOf(dbIngressPostgresOnly) } },
    { author: frank, time: new Date(now - 9 * DAY), message: 'api -> db egress for postgres and redis', files: files(find(api, SHOP_POLICIES.apiToDb)) },
    { author: dave, time: new Date(now - 6 * DAY), message: 'db: accept redis from the api tier too', files: { [OLD_DB_INGRESS_PATH]: yamlOf(dbIngress) } },
    { author: erin, time: new Date(now - 3 * DAY), message: 'Name policy files after their policy', renames: [[OLD_DB_INGRESS_PATH, fileOf(dbIngress)]] },
  ];
}

/** Adds kustomization.yaml to each commit, listing the files of the tree as it then stands (`tree` follows). */
function withKustomization(commits: HistoryCommit[], tree: Set<string>): HistoryCommit[] {
  return commits.map((commit) => {
    for (const [from, to] of commit.renames ?? []) {
      tree.delete(from);
      tree.add(to);
    }
    for (const [path, content] of Object.entries(commit.files ?? {})) {
      if (content === null) tree.delete(path);
      else tree.add(path);
    }
    return { ...commit, files: { ...commit.files, [`${SHOP_GIT_POLICY_DIR}/kustomization.yaml`]: kustomization(tree) } };
  });
}

function touched(commit: HistoryCommit): string[] {
  return [...(commit.renames ?? []).map(([, to]) => to), ...Object.keys(commit.files ?? {})];
}

function described(commits: HistoryCommit[], shas: string[]): ShopGitCommit[] {
  return commits.map((c, i) => ({ sha: shas[i] as string, author: c.author, time: new Date(c.time).toISOString(), subject: c.message.split('\n')[0] as string, files: touched(c) }));
}

/** Creates the bare repository under `dir` (as `shop-policies.git`) with the shop's history. */
export async function createShopGitRepository(dir: string, options: { now?: Date } = {}): Promise<ShopGitRepository> {
  const remoteDir = join(dir, 'shop-policies.git');
  await createBareRepository(remoteDir, SHOP_GIT_BRANCH);
  const now = (options.now ?? new Date()).getTime();
  const tree = new Set<string>();
  const history = withKustomization(shopHistory(now), tree);
  const commits = described(history, await writeHistory(remoteDir, history, { branch: SHOP_GIT_BRANCH }));
  const append = async (commit: HistoryCommit): Promise<ShopGitCommit> => {
    const next = withKustomization([commit], tree);
    const [added] = described(next, await writeHistory(remoteDir, next, { branch: SHOP_GIT_BRANCH })) as [ShopGitCommit];
    commits.push(added);
    return added;
  };
  return {
    remoteDir,
    remoteUrl: `file://${remoteDir}`,
    commits,
    pathOf: (namespace, name) => {
      const path = `${SHOP_GIT_POLICY_DIR}/${namespace}/${name}.yaml`;
      return tree.has(path) ? path : undefined;
    },
    async addBadCommit(opts = {}) {
      const object = structuredClone(ALLOW_ALL_EGRESS) as unknown as Obj;
      const commit = await append({
        author: { ...SHOP_GIT_PEOPLE.dave, ...(opts.authorName ? { name: opts.authorName } : {}) },
        time: opts.at ?? new Date(),
        message: opts.message ?? 'db: open egress to debug the backup job',
        files: { [BAD_PATH]: yamlOf(object) },
      });
      return { ...commit, path: BAD_PATH, object };
    },
    async revertBadCommit(opts = {}) {
      const bad = [...commits].reverse().find((c) => c.files.includes(BAD_PATH) && c.author.email === SHOP_GIT_PEOPLE.dave.email);
      if (!bad || !tree.has(BAD_PATH)) throw new Error('there is no bad commit to revert');
      return append({
        author: SHOP_GIT_PEOPLE.erin,
        time: opts.at ?? new Date(),
        message: `Revert "db: open egress to debug the backup job"\n\nThis reverts commit ${bad.sha}.`,
        files: { [BAD_PATH]: null },
      });
    },
  };
}

/** The branch's commit of the shop repository (after the additions above). */
export function shopGitHead(repo: ShopGitRepository): Promise<string | undefined> {
  return branchTip(repo.remoteDir, SHOP_GIT_BRANCH);
}
