// The shipped playbook is found from the package root, whatever the working directory; a path
// the user writes stays theirs (relative to the cwd). The .proto files must sit next to the loader.
import { copyFileSync, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildConfig } from '../../src/config/load.js';
import { DEFAULT_PLAYBOOK_PATH, PACKAGE_ROOT } from '../../src/config/package-files.js';
import { checkProtoFiles, PROTO_DIR } from '../../src/flows/proto/load.js';

const env = { SLACK_BOT_TOKEN: 'xoxb-123-abc', SLACK_SIGNING_SECRET: 'secret-of-the-app' };
const approvers = { slack: { approvers: { users: ['U0APPROVER'] } } };

describe('files shipped with the package', () => {
  it('the package root is the directory of package.json', () => {
    const pkg = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { name: string };
    expect(pkg.name).toBe('netpol-responder');
  });

  it('the default playbook is an absolute path to the shipped playbook', () => {
    expect(isAbsolute(DEFAULT_PLAYBOOK_PATH)).toBe(true);
    expect(DEFAULT_PLAYBOOK_PATH).toBe(join(PACKAGE_ROOT, 'playbooks', 'netpol-incident.yaml'));
    expect(existsSync(DEFAULT_PLAYBOOK_PATH)).toBe(true);
    expect(buildConfig(approvers, env).playbook.path).toBe(DEFAULT_PLAYBOOK_PATH);
  });

  it.each(['my-playbook.yaml', './playbooks/netpol-incident.yaml', '../elsewhere/pb.yaml', '/etc/netpol/pb.yaml'])(
    'a playbook path the user writes (%s) is kept as written',
    (path) => {
      expect(buildConfig({ ...approvers, playbook: { path } }, env).playbook.path).toBe(path);
    },
  );

  it('an empty playbook path is refused, not replaced by the default', () => {
    expect(() => buildConfig({ ...approvers, playbook: { path: '' } }, env)).toThrow(/playbook\.path/);
  });

  it('the .proto files are next to the loader', () => {
    expect(() => checkProtoFiles(PROTO_DIR)).not.toThrow();
  });

  it('missing .proto files are named with their directory and the fix', () => {
    const empty = mkdtempSync(join(tmpdir(), 'netpol-proto-'));
    expect(() => checkProtoFiles(empty)).toThrow(`observer.proto, flow.proto missing from ${empty}: the build copies the .proto files next to the compiled code (npm run build)`);
    copyFileSync(join(PROTO_DIR, 'observer.proto'), join(empty, 'observer.proto'));
    expect(() => checkProtoFiles(empty)).toThrow(/^flow\.proto missing from /);
  });
});
