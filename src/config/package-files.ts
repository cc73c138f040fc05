// Files the package ships next to its code (the default playbook) are found from the package
// root, so the bot works from any working directory. This module is src/config/ in a checkout and
// dist/config/ once compiled: the root is two levels up in both layouts.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The shipped playbook; a path the user writes in the config stays relative to the cwd. */
export const DEFAULT_PLAYBOOK_PATH = join(PACKAGE_ROOT, 'playbooks', 'netpol-incident.yaml');
