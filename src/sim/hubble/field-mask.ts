// GetFlowsRequest.field_mask as Hubble applies it: only the Flow fields named by the mask's paths
// (dotted, relative to flow.Flow, e.g. "source.namespace") are populated in the responses; the
// response's own node_name and time are not part of the mask. A path that names no Flow field is
// refused (Hubble answers INVALID_ARGUMENT), so a client finds a typo at once.
import { loadObserver } from '../../flows/proto/load.js';

/** Path tree: a leaf (true) keeps the whole field; a subtree keeps only its children. */
export type MaskTree = Map<string, MaskTree | true>;

interface TypeDescriptor {
  field?: { name: string; typeName?: string; type?: string }[];
}

function messageType(name: string): TypeDescriptor | undefined {
  const entry = loadObserver().definition[name] as { type?: TypeDescriptor } | undefined;
  return entry?.type;
}

/** Builds the tree from the mask's paths; throws with the first path that names no field. */
export function fieldMaskTree(paths: readonly unknown[]): MaskTree {
  const tree: MaskTree = new Map();
  for (const raw of paths) {
    if (typeof raw !== 'string' || raw.length === 0 || raw.length > 200) throw new Error(`invalid field mask path: ${JSON.stringify(raw)?.slice(0, 80)}`);
    let typeName = 'flow.Flow';
    let node = tree;
    const parts = raw.split('.');
    parts.forEach((part, i) => {
      const field = messageType(typeName)?.field?.find((f) => f.name === part);
      if (!field) throw new Error(`invalid field mask path "${raw}": ${typeName} has no field "${part}"`);
      const last = i === parts.length - 1;
      const existing = node.get(part);
      if (existing === true) return;
      if (last) {
        node.set(part, true);
        return;
      }
      if (field.type !== 'TYPE_MESSAGE' || !field.typeName) throw new Error(`invalid field mask path "${raw}": "${part}" is not a message`);
      const child: MaskTree = existing instanceof Map ? existing : new Map();
      node.set(part, child);
      node = child;
      // proto-loader keeps type names as written in the .proto: relative to the package.
      const named = field.typeName.replace(/^\./, '');
      const pkg = typeName.slice(0, typeName.lastIndexOf('.'));
      typeName = messageType(named) ? named : `${pkg}.${named}`;
    });
  }
  return tree;
}

/** A copy of `value` holding only the masked fields (empty subtrees are left out, as protobuf would). */
export function applyFieldMask(value: Record<string, unknown>, tree: MaskTree): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, sub] of tree) {
    const v = value[name];
    if (v === undefined || v === null) continue;
    if (sub === true) out[name] = v;
    else if (typeof v === 'object' && !Array.isArray(v)) {
      const inner = applyFieldMask(v as Record<string, unknown>, sub);
      if (Object.keys(inner).length > 0) out[name] = inner;
    }
  }
  return out;
}
