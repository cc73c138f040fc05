import { parsePlaybook } from '../../src/playbook/load.js';
import type { Playbook } from '../../src/playbook/schema.js';

export function testPlaybook(rule: 'none' | 'one' | 'two' = 'one', extra = ''): Playbook {
  return parsePlaybook(
    `apiVersion: netpol-responder/v1
kind: Playbook
name: test
steps:
  - id: contain
    title: Confirm & Contain
    action: contain
    approval: { rule: ${rule}, timeout: 1s, remindEvery: 1s, maxReminders: 2 }
${extra}`,
    'test.yaml',
  );
}
