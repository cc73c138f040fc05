// Wiring of the scheduled audit into the worker role (src/runtime.ts): every worker replica
// upserts the one scheduler and runs its jobs; the job scheduler makes each period fire once.
import type { RedisClient } from '../redis/connect.js';
import type { Config } from '../config/schema.js';
import type { KubeGateway } from '../kube/index.js';
import type { Resources } from '../lifecycle/resources.js';
import type { Logger } from '../log.js';
import type { ChatGateway } from '../slack/chat.js';
import { removeAuditSchedule, startAuditSchedule } from './schedule.js';
import { runScheduledAudit } from './scheduled.js';

export interface AuditReportRoleOptions {
  config: Pick<Config, 'auditReport' | 'slack' | 'clusterName'>;
  redis: RedisClient;
  prefix: string;
  cluster: Pick<KubeGateway, 'objects' | 'discoverKinds'>;
  chat: Pick<ChatGateway, 'postMessage' | 'uploadFile'>;
  resources: Resources;
  logger: Logger;
}

export async function startAuditReportRole(options: AuditReportRoleOptions): Promise<void> {
  const { config, redis, prefix, logger } = options;
  const settings = config.auditReport;
  const channel = settings.channel ?? config.slack.alertsChannel ?? config.slack.incidentChannel;
  if (!settings.enabled || !channel) {
    if (settings.enabled) logger.warn('the scheduled audit has no channel (auditReport.channel, slack.alertsChannel or slack.incidentChannel): not scheduled');
    // Switched off: replicas still on an older configuration must stop firing it too.
    await removeAuditSchedule(redis, prefix);
    return;
  }
  const log = logger.child({ role: 'audit-report' });
  const schedule = await startAuditSchedule({
    connection: redis.duplicate(),
    prefix,
    repeat: { pattern: settings.schedule, tz: settings.timeZone },
    logger: log,
    run: (runAt) => runScheduledAudit({ cluster: options.cluster, redis, prefix, chat: options.chat, channel, unusedDays: settings.unusedDays, logger: log, ...(config.clusterName ? { clusterName: config.clusterName } : {}) }, runAt),
  });
  options.resources.add('audit report schedule', () => schedule.close());
  log.info({ schedule: settings.schedule, timeZone: settings.timeZone, channel }, 'scheduled audit report');
}
