// Patch documents: JSON merge patch (RFC 7386) and JSON patch (RFC 6902). Pure functions over
// plain JSON values; they never mutate their inputs.

import { badRequest, failure } from './status.js';

type Json = unknown;

function isPlainObject(v: Json): v is Record<string, Json> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function deepClone<T>(value: T): T {
  return structuredClone(value);
}

export function deepEqual(a: Json, b: Json): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    return Array.isArray(b) && a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  }
  if (isPlainObject(a) && isPlainObject(b)) {
    const ka = Object.keys(a);
    if (ka.length !== Object.keys(b).length) return false;
    return ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && deepEqual(a[k], b[k]));
  }
  return false;
}

/** RFC 7386: objects merge recursively, `null` deletes, everything else replaces. */
export function mergePatch(target: Json, patch: Json): Json {
  if (!isPlainObject(patch)) return deepClone(patch);
  const result: Record<string, Json> = isPlainObject(target) ? deepClone(target) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key], value);
  }
  return result;
}

/**
 * Strategic merge patch, reduced to what NetworkPolicy needs: its lists are atomic, so it is a
 * merge patch once the `$…` directives (`$setElementOrder/…`, `$retainKeys`, `$patch`) kubectl
 * adds are handled. `$patch: replace` replaces the map, `$patch: delete` removes it.
 */
export function strategicMergePatch(target: Json, patch: Json): Json {
  if (!isPlainObject(patch)) return deepClone(patch);
  const directive = patch.$patch;
  if (directive === 'delete') return undefined;
  const base: Record<string, Json> = directive === 'replace' ? {} : isPlainObject(target) ? deepClone(target) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (key.startsWith('$')) continue;
    if (value === null) {
      delete base[key];
      continue;
    }
    const merged = strategicMergePatch(base[key], value);
    if (merged === undefined) delete base[key];
    else base[key] = merged;
  }
  return base;
}

function decodePointer(pointer: Json): string[] {
  if (typeof pointer !== 'string' || (pointer !== '' && !pointer.startsWith('/'))) {
    throw badRequest(`invalid JSON pointer ${JSON.stringify(pointer)}`);
  }
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function unprocessable(message: string): Error {
  return failure(422, 'Invalid', message);
}

function getAt(doc: Json, path: string[]): Json {
  let cur: Json = doc;
  for (const token of path) {
    if (Array.isArray(cur)) {
      const i = Number(token);
      if (!/^\d+$/.test(token) || i >= cur.length) throw unprocessable(`the server rejected our request due to an error in our request: path /${path.join('/')} does not exist`);
      cur = cur[i];
    } else if (isPlainObject(cur) && Object.prototype.hasOwnProperty.call(cur, token)) {
      cur = cur[token];
    } else {
      throw unprocessable(`the server rejected our request due to an error in our request: path /${path.join('/')} does not exist`);
    }
  }
  return cur;
}

function container(doc: Json, path: string[]): { parent: Json; key: string } {
  if (path.length === 0) throw unprocessable('cannot operate on the document root');
  return { parent: getAt(doc, path.slice(0, -1)), key: path[path.length - 1] as string };
}

function add(doc: Json, path: string[], value: Json): Json {
  if (path.length === 0) return deepClone(value);
  const { parent, key } = container(doc, path);
  if (Array.isArray(parent)) {
    const i = key === '-' ? parent.length : Number(key);
    if (!/^\d+$/.test(key) && key !== '-') throw unprocessable(`invalid array index "${key}"`);
    if (i > parent.length) throw unprocessable(`array index ${i} out of bounds`);
    parent.splice(i, 0, deepClone(value));
  } else if (isPlainObject(parent)) {
    parent[key] = deepClone(value);
  } else {
    throw unprocessable(`cannot add to a non-container at /${path.join('/')}`);
  }
  return doc;
}

function remove(doc: Json, path: string[]): Json {
  const { parent, key } = container(doc, path);
  getAt(doc, path);
  if (Array.isArray(parent)) parent.splice(Number(key), 1);
  else if (isPlainObject(parent)) delete parent[key];
  return doc;
}

/** RFC 6902 operations: add, remove, replace, move, copy, test. */
export function jsonPatch(target: Json, operations: Json): Json {
  if (!Array.isArray(operations)) throw badRequest('json patch must be a list of operations');
  let doc = deepClone(target);
  for (const op of operations) {
    if (!isPlainObject(op)) throw badRequest('json patch operation must be an object');
    const path = decodePointer(op.path);
    switch (op.op) {
      case 'add':
        doc = add(doc, path, op.value);
        break;
      case 'remove':
        doc = remove(doc, path);
        break;
      case 'replace':
        getAt(doc, path);
        doc = path.length === 0 ? deepClone(op.value) : add(remove(doc, path), path, op.value);
        break;
      case 'move': {
        const from = decodePointer(op.from);
        const value = deepClone(getAt(doc, from));
        doc = add(remove(doc, from), path, value);
        break;
      }
      case 'copy':
        doc = add(doc, path, getAt(doc, decodePointer(op.from)));
        break;
      case 'test':
        if (!deepEqual(getAt(doc, path), op.value)) throw unprocessable(`testing value /${path.join('/')} failed`);
        break;
      default:
        throw badRequest(`unsupported json patch operation ${JSON.stringify(op.op)}`);
    }
  }
  return doc;
}
