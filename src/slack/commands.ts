// Parses the text of `/netpol …` into a command. Pure; every refusal carries a message for the user.
import { LabelSelectorSyntaxError, parseLabelSelector } from '../kube/label-selector.js';
import type { LabelSelectorSpec } from '../incident/model.js';
import { exportFormats, type ExportFormat } from '../timeline/render.js';
import { printable } from '../printable.js';
import { escapeMrkdwn } from './block-text.js';

export type NetpolCommand =
  /** `cluster` when typed as `<cluster>/<namespace>` (a bot serving several clusters). */
  | { kind: 'incident'; cluster?: string; namespace: string; selector?: string; labelSelector?: LabelSelectorSpec; reason?: string }
  | { kind: 'status'; incidentId?: string }
  | { kind: 'export'; incidentId: string; format: ExportFormat }
  /** The restore step's source: a typed `[repository:]sha-or-tag`, checked by the runner. */
  | { kind: 'restore'; incidentId: string; revision: string }
  | { kind: 'help' }
  | { kind: 'invalid'; message: string };

export const MAX_COMMAND_TEXT = 2000;
const NAMESPACE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const CLUSTER = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const INCIDENT_ID = /^[a-z0-9][a-z0-9-]{2,40}$/;
export const MAX_REVISION = 200;
const RESTORE_USAGE = 'Usage: `/netpol restore <incident-id> <sha-or-tag>` (or `repository:sha-or-tag`)';

export const HELP_TEXT = [
  '*netpol-responder* runs the NetworkPolicy incident playbook.',
  '• `/netpol incident [cluster/]<namespace> [label-selector] [-- reason]` open an incident and propose an emergency deny-all (the cluster is needed when the bot serves several)',
  '   e.g. `/netpol incident db app=postgres -- unexpected egress to 203.0.113.66`',
  '• `/netpol status [incident-id]` open incidents, or one incident in detail',
  '• `/netpol export <incident-id> [md|json|html]` upload the postmortem timeline to the incident thread (html: one self-contained page with a timeline chart, connectivity graphs and highlighted diffs)',
  '• `/netpol restore <incident-id> <sha-or-tag>` restore from a Git commit or tag you name (`repository:sha-or-tag` to pick the repository)',
  '• `/netpol help` this help',
].join('\n');

function invalid(message: string): NetpolCommand {
  // The message may quote what was typed: control and bidi characters are shown escaped.
  return { kind: 'invalid', message: `${printable(message)}\n\n${HELP_TEXT}` };
}

function parseIncident(args: string): NetpolCommand {
  const separator = args.search(/(^|\s)--(\s|$)/);
  const head = (separator === -1 ? args : args.slice(0, separator)).trim();
  const reason = separator === -1 ? undefined : args.slice(separator).replace(/^\s*--/, '').trim() || undefined;
  const [target, ...rest] = head.split(/\s+/).filter(Boolean);
  if (!target) return invalid('Which namespace? Usage: `/netpol incident [cluster/]<namespace> [label-selector] [-- reason]`');
  const slash = target.indexOf('/');
  const cluster = slash === -1 ? undefined : target.slice(0, slash);
  const namespace = slash === -1 ? target : target.slice(slash + 1);
  if (cluster !== undefined && (!CLUSTER.test(cluster) || cluster.length > 63)) {
    return invalid(`\`${escapeMrkdwn(cluster.slice(0, 80))}\` is not a cluster name (lower-case letters, digits and "-"). Usage: \`/netpol incident <cluster>/<namespace>\``);
  }
  if (!NAMESPACE.test(namespace) || namespace.length > 63) {
    return invalid(`\`${escapeMrkdwn(namespace.slice(0, 80))}\` is not a valid namespace name (lower-case letters, digits and "-", at most 63 characters).`);
  }
  const where = { ...(cluster !== undefined ? { cluster } : {}), namespace };
  const selector = rest.join(' ').trim();
  if (!selector) return { kind: 'incident', ...where, reason };
  try {
    const parsed = parseLabelSelector(selector);
    if (Object.keys(parsed.matchLabels).length === 0 && parsed.matchExpressions.length === 0) return { kind: 'incident', ...where, reason };
    return { kind: 'incident', ...where, selector, labelSelector: parsed, reason };
  } catch (error) {
    if (error instanceof LabelSelectorSyntaxError) return invalid(`Malformed label selector: ${error.message}. No incident was opened.`);
    throw error;
  }
}

function parseRestore(words: string[]): NetpolCommand {
  const [id, revision, ...extra] = words;
  if (!id || !revision) return invalid(`Which ${id ? 'commit SHA or tag' : 'incident and revision'}? ${RESTORE_USAGE}`);
  if (!INCIDENT_ID.test(id)) return invalid(`\`${escapeMrkdwn(id.slice(0, 60))}\` is not an incident id. ${RESTORE_USAGE}`);
  if (extra.length > 0) return invalid(`One revision only, without spaces. ${RESTORE_USAGE}`);
  if (revision.length > MAX_REVISION) return invalid(`That revision is too long (${revision.length} characters; at most ${MAX_REVISION}). Nothing changed.`);
  // Control and invisible format characters (zero-width, bidi overrides) could make a revision read as another.
  if (/[\p{Cc}\p{Cf}]/u.test(revision)) return invalid('That revision holds control or invisible characters. Nothing changed.');
  // Neither a ref nor a SHA starts with "-"; refusing it keeps the text from reading as an option.
  if (/(^|:)-/.test(revision) || revision.startsWith(':') || revision.endsWith(':')) {
    return invalid(`\`${escapeMrkdwn(revision.slice(0, 60))}\` is not a commit SHA or tag. ${RESTORE_USAGE}`);
  }
  return { kind: 'restore', incidentId: id, revision };
}

export function parseNetpolCommand(text: string): NetpolCommand {
  if (text.length > MAX_COMMAND_TEXT) return invalid(`That command is too long (${text.length} characters; at most ${MAX_COMMAND_TEXT}).`);
  const trimmed = text.trim();
  const match = /^(\S+)\s*([\s\S]*)$/.exec(trimmed);
  if (!match) return { kind: 'help' };
  const verb = (match[1] ?? '').toLowerCase();
  const args = (match[2] ?? '').trim();
  const words = args.split(/\s+/).filter(Boolean);
  switch (verb) {
    case 'help':
      return { kind: 'help' };
    case 'incident':
      return parseIncident(args);
    case 'status': {
      if (words.length > 1) return invalid('Usage: `/netpol status [incident-id]`');
      const id = words[0];
      if (id && !INCIDENT_ID.test(id)) return invalid(`\`${id.slice(0, 60)}\` is not an incident id.`);
      return { kind: 'status', incidentId: id };
    }
    case 'export': {
      const [id, given = 'md', ...extra] = words;
      const format = given.toLowerCase();
      if (!id || extra.length > 0) return invalid('Usage: `/netpol export <incident-id> [md|json|html]`');
      if (!INCIDENT_ID.test(id)) return invalid(`\`${id.slice(0, 60)}\` is not an incident id.`);
      if (!(exportFormats as readonly string[]).includes(format)) return invalid(`Unknown export format \`${escapeMrkdwn(given.slice(0, 20))}\`: use md, json or html.`);
      return { kind: 'export', incidentId: id, format: format as ExportFormat };
    }
    case 'restore':
      return parseRestore(words);
    default:
      return invalid(`Unknown command \`${verb.slice(0, 40)}\`.`);
  }
}
