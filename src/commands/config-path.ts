// Where a command finds its config file: --config, then $NETPOL_CONFIG, then ./netpol-responder.yaml.
import { existsSync } from 'node:fs';

export const DEFAULT_CONFIG_FILE = 'netpol-responder.yaml';

export function configPath(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (flag) return flag;
  if (env.NETPOL_CONFIG) return env.NETPOL_CONFIG;
  return existsSync(DEFAULT_CONFIG_FILE) ? DEFAULT_CONFIG_FILE : undefined;
}
