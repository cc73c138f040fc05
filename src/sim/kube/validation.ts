// Object validation with the apiserver's rules and messages. Pure: takes an object, returns the
// field errors (empty when valid). Written defensively: any JSON value may arrive here.

import ipaddr from 'ipaddr.js';
import { labelKeyError, labelValueError } from '../../kube/label-selector.js';
import { validateSchema } from './crd-schema.js';
import { crdSchema } from './crds/index.js';
import { deepEqual } from './patch.js';
import type { ResourceType } from './resources.js';
import type { FieldError } from './status.js';

type Json = unknown;
type Obj = Record<string, Json>;

export function isObject(v: Json): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

const LABEL_MSG =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const SUBDOMAIN_MSG =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";

export function dns1123LabelErrors(value: string): string[] {
  const errs: string[] = [];
  if (value.length > 63) errs.push('must be no more than 63 characters');
  if (!DNS1123_LABEL.test(value)) errs.push(LABEL_MSG);
  return errs;
}

export function dns1123SubdomainErrors(value: string): string[] {
  const errs: string[] = [];
  if (value.length > 253) errs.push('must be no more than 253 characters');
  if (!DNS1123_SUBDOMAIN.test(value)) errs.push(SUBDOMAIN_MSG);
  return errs;
}

/** IANA service name rules for named ports (validation.IsValidPortName). */
export function portNameErrors(name: string): string[] {
  const errs: string[] = [];
  if (name.length < 1 || name.length > 15) errs.push('must be no more than 15 characters');
  if (!/^[-a-z0-9]+$/.test(name)) errs.push('must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)');
  if (!/[a-z]/.test(name)) errs.push('must contain at least one letter (a-z)');
  if (name.includes('--')) errs.push('must not contain consecutive hyphens');
  if (name.startsWith('-') || name.endsWith('-')) errs.push('must not begin or end with a hyphen');
  return errs;
}

function isPortNumber(v: Json): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 65535;
}

const PORT_RANGE_MSG = 'must be between 1 and 65535, inclusive';
const TOTAL_ANNOTATION_BYTES = 256 * 1024;

export function validateName(rt: ResourceType, name: Json): FieldError[] {
  if (name === undefined || name === null || name === '') {
    return [{ field: 'metadata.name', type: 'FieldValueRequired', detail: 'name or generateName is required' }];
  }
  if (typeof name !== 'string') return [{ field: 'metadata.name', type: 'FieldValueInvalid', value: name, detail: 'must be a string' }];
  // Namespace names are DNS labels; every other kind here (custom resources too) takes a subdomain.
  const problems = rt.resource === 'namespaces' ? dns1123LabelErrors(name) : dns1123SubdomainErrors(name);
  return problems.map((detail) => ({ field: 'metadata.name', type: 'FieldValueInvalid', value: name, detail }));
}

function validateLabels(labels: Json, field: string): FieldError[] {
  if (labels === undefined || labels === null) return [];
  if (!isObject(labels)) return [{ field, type: 'FieldValueInvalid', value: labels, detail: 'must be a map of string keys to string values' }];
  const errs: FieldError[] = [];
  for (const [key, value] of Object.entries(labels)) {
    const keyProblem = labelKeyError(key);
    if (keyProblem) errs.push({ field, type: 'FieldValueInvalid', value: key, detail: keyProblem });
    if (typeof value !== 'string') {
      errs.push({ field: `${field}`, type: 'FieldValueInvalid', value, detail: `value of "${key}" must be a string` });
      continue;
    }
    const valueProblem = labelValueError(value);
    if (valueProblem) errs.push({ field, type: 'FieldValueInvalid', value, detail: valueProblem });
  }
  return errs;
}

function validateAnnotations(annotations: Json, field: string): FieldError[] {
  if (annotations === undefined || annotations === null) return [];
  if (!isObject(annotations)) return [{ field, type: 'FieldValueInvalid', value: annotations, detail: 'must be a map of string keys to string values' }];
  const errs: FieldError[] = [];
  let total = 0;
  for (const [key, value] of Object.entries(annotations)) {
    const keyProblem = labelKeyError(key.toLowerCase());
    if (keyProblem) errs.push({ field, type: 'FieldValueInvalid', value: key, detail: keyProblem });
    if (typeof value !== 'string') errs.push({ field, type: 'FieldValueInvalid', value, detail: `value of "${key}" must be a string` });
    else total += key.length + value.length;
  }
  if (total > TOTAL_ANNOTATION_BYTES) {
    errs.push({ field, type: 'FieldValueTooLong', value: '', detail: `must have at most ${TOTAL_ANNOTATION_BYTES} bytes` });
  }
  return errs;
}

export function validateMetadata(rt: ResourceType, metadata: Json): FieldError[] {
  if (!isObject(metadata)) return [{ field: 'metadata', type: 'FieldValueRequired', detail: 'metadata is required' }];
  return [
    ...validateName(rt, metadata.name),
    ...validateLabels(metadata.labels, 'metadata.labels'),
    ...validateAnnotations(metadata.annotations, 'metadata.annotations'),
  ];
}

/** metav1.LabelSelector rules (ValidateLabelSelector). */
export function validateLabelSelector(selector: Json, field: string): FieldError[] {
  if (selector === undefined || selector === null) return [];
  if (!isObject(selector)) return [{ field, type: 'FieldValueInvalid', value: selector, detail: 'must be a label selector object' }];
  const errs = validateLabels(selector.matchLabels, `${field}.matchLabels`);
  const exprs = selector.matchExpressions;
  if (exprs === undefined || exprs === null) return errs;
  if (!Array.isArray(exprs)) {
    return [...errs, { field: `${field}.matchExpressions`, type: 'FieldValueInvalid', value: exprs, detail: 'must be a list' }];
  }
  exprs.forEach((expr, i) => {
    const path = `${field}.matchExpressions[${i}]`;
    if (!isObject(expr)) {
      errs.push({ field: path, type: 'FieldValueInvalid', value: expr, detail: 'must be an object' });
      return;
    }
    const values = expr.values;
    const hasValues = Array.isArray(values) && values.length > 0;
    if (values !== undefined && values !== null && !Array.isArray(values)) {
      errs.push({ field: `${path}.values`, type: 'FieldValueInvalid', value: values, detail: 'must be a list of strings' });
    }
    switch (expr.operator) {
      case 'In':
      case 'NotIn':
        if (!hasValues) {
          errs.push({ field: `${path}.values`, type: 'FieldValueRequired', detail: "must be specified when `operator` is 'In' or 'NotIn'" });
        }
        break;
      case 'Exists':
      case 'DoesNotExist':
        if (hasValues) {
          errs.push({ field: `${path}.values`, type: 'FieldValueForbidden', detail: "may not be specified when `operator` is 'Exists' or 'DoesNotExist'" });
        }
        break;
      default:
        errs.push({ field: `${path}.operator`, type: 'FieldValueInvalid', value: expr.operator ?? '', detail: 'not a valid selector operator' });
    }
    if (typeof expr.key !== 'string') {
      errs.push({ field: `${path}.key`, type: 'FieldValueInvalid', value: expr.key ?? '', detail: 'must be a string' });
    } else {
      const keyProblem = labelKeyError(expr.key);
      if (keyProblem) errs.push({ field: `${path}.key`, type: 'FieldValueInvalid', value: expr.key, detail: keyProblem });
    }
    if (Array.isArray(values)) {
      values.forEach((v, j) => {
        const problem = typeof v === 'string' ? labelValueError(v) : 'must be a string';
        if (problem) errs.push({ field: `${path}.values[${j}]`, type: 'FieldValueInvalid', value: v, detail: problem });
      });
    }
  });
  return errs;
}

function validatePort(port: Json, path: string): FieldError[] {
  if (!isObject(port)) return [{ field: path, type: 'FieldValueInvalid', value: port, detail: 'must be an object' }];
  const errs: FieldError[] = [];
  const protocol = port.protocol;
  if (protocol !== undefined && protocol !== null && protocol !== 'TCP' && protocol !== 'UDP' && protocol !== 'SCTP') {
    errs.push({ field: `${path}.protocol`, type: 'FieldValueNotSupported', value: protocol, detail: 'supported values: "SCTP", "TCP", "UDP"' });
  }
  const p = port.port;
  const hasPort = p !== undefined && p !== null;
  if (hasPort) {
    if (typeof p === 'number') {
      if (!isPortNumber(p)) errs.push({ field: `${path}.port`, type: 'FieldValueInvalid', value: p, detail: PORT_RANGE_MSG });
    } else if (typeof p === 'string') {
      for (const detail of portNameErrors(p)) errs.push({ field: `${path}.port`, type: 'FieldValueInvalid', value: p, detail });
    } else {
      errs.push({ field: `${path}.port`, type: 'FieldValueInvalid', value: p, detail: 'must be a port number or a port name' });
    }
  }
  const end = port.endPort;
  if (end !== undefined && end !== null) {
    if (!hasPort) {
      errs.push({ field: `${path}.endPort`, type: 'FieldValueRequired', detail: 'may not be specified when `port` is not specified' });
    } else if (typeof p !== 'number') {
      errs.push({ field: `${path}.endPort`, type: 'FieldValueForbidden', detail: 'may not be specified when `port` is non-numeric' });
    } else if (!isPortNumber(end)) {
      errs.push({ field: `${path}.endPort`, type: 'FieldValueInvalid', value: end, detail: PORT_RANGE_MSG });
    } else if (end < p) {
      errs.push({ field: `${path}.endPort`, type: 'FieldValueInvalid', value: end, detail: 'must be greater than or equal to `port`' });
    }
  }
  return errs;
}

function parseCidr(text: Json): [ipaddr.IPv4 | ipaddr.IPv6, number] | undefined {
  if (typeof text !== 'string' || !text.includes('/')) return undefined;
  try {
    return ipaddr.parseCIDR(text);
  } catch {
    return undefined;
  }
}

const CIDR_MSG = 'must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)';

function validateIpBlock(block: Json, path: string): FieldError[] {
  if (!isObject(block)) return [{ field: path, type: 'FieldValueInvalid', value: block, detail: 'must be an object' }];
  if (block.cidr === undefined || block.cidr === null || block.cidr === '') {
    return [{ field: `${path}.cidr`, type: 'FieldValueRequired', detail: '' }];
  }
  const cidr = parseCidr(block.cidr);
  if (!cidr) return [{ field: `${path}.cidr`, type: 'FieldValueInvalid', value: block.cidr, detail: CIDR_MSG }];
  const errs: FieldError[] = [];
  const except = block.except;
  if (except === undefined || except === null) return errs;
  if (!Array.isArray(except)) return [{ field: `${path}.except`, type: 'FieldValueInvalid', value: except, detail: 'must be a list of CIDRs' }];
  except.forEach((e, i) => {
    const field = `${path}.except[${i}]`;
    const inner = parseCidr(e);
    if (!inner) {
      errs.push({ field, type: 'FieldValueInvalid', value: e, detail: CIDR_MSG });
      return;
    }
    const [innerAddr, innerBits] = inner;
    const [outerAddr, outerBits] = cidr;
    const sameFamily = innerAddr.kind() === outerAddr.kind();
    const inside = sameFamily && innerBits > outerBits && innerAddr.match([outerAddr, outerBits] as never);
    if (!inside) errs.push({ field, type: 'FieldValueInvalid', value: e, detail: 'must be a strict subset of `cidr`' });
  });
  return errs;
}

function validatePeer(peer: Json, path: string): FieldError[] {
  if (!isObject(peer)) return [{ field: path, type: 'FieldValueInvalid', value: peer, detail: 'must be an object' }];
  const errs: FieldError[] = [];
  const present = (k: string): boolean => peer[k] !== undefined && peer[k] !== null;
  let count = 0;
  if (present('podSelector')) {
    count++;
    errs.push(...validateLabelSelector(peer.podSelector, `${path}.podSelector`));
  }
  if (present('namespaceSelector')) {
    count++;
    errs.push(...validateLabelSelector(peer.namespaceSelector, `${path}.namespaceSelector`));
  }
  if (present('ipBlock')) {
    count++;
    errs.push(...validateIpBlock(peer.ipBlock, `${path}.ipBlock`));
  }
  if (count === 0) errs.push({ field: path, type: 'FieldValueRequired', detail: 'must specify a peer' });
  else if (count > 1 && present('ipBlock')) errs.push({ field: path, type: 'FieldValueForbidden', detail: 'may not specify both ipBlock and another peer' });
  return errs;
}

function validateRules(rules: Json, path: string, peerKey: 'from' | 'to'): FieldError[] {
  if (rules === undefined || rules === null) return [];
  if (!Array.isArray(rules)) return [{ field: path, type: 'FieldValueInvalid', value: rules, detail: 'must be a list of rules' }];
  const errs: FieldError[] = [];
  rules.forEach((rule, i) => {
    const rulePath = `${path}[${i}]`;
    if (!isObject(rule)) {
      errs.push({ field: rulePath, type: 'FieldValueInvalid', value: rule, detail: 'must be an object' });
      return;
    }
    const ports = rule.ports;
    if (ports !== undefined && ports !== null) {
      if (!Array.isArray(ports)) errs.push({ field: `${rulePath}.ports`, type: 'FieldValueInvalid', value: ports, detail: 'must be a list' });
      else ports.forEach((p, j) => errs.push(...validatePort(p, `${rulePath}.ports[${j}]`)));
    }
    const peers = rule[peerKey];
    if (peers !== undefined && peers !== null) {
      if (!Array.isArray(peers)) errs.push({ field: `${rulePath}.${peerKey}`, type: 'FieldValueInvalid', value: peers, detail: 'must be a list' });
      else peers.forEach((peer, j) => errs.push(...validatePeer(peer, `${rulePath}.${peerKey}[${j}]`)));
    }
  });
  return errs;
}

export function validateNetworkPolicySpec(spec: Json): FieldError[] {
  if (spec === undefined || spec === null) return [];
  if (!isObject(spec)) return [{ field: 'spec', type: 'FieldValueInvalid', value: spec, detail: 'must be an object' }];
  const errs: FieldError[] = [
    ...validateLabelSelector(spec.podSelector, 'spec.podSelector'),
    ...validateRules(spec.ingress, 'spec.ingress', 'from'),
    ...validateRules(spec.egress, 'spec.egress', 'to'),
  ];
  const types = spec.policyTypes;
  if (types !== undefined && types !== null) {
    if (!Array.isArray(types)) {
      errs.push({ field: 'spec.policyTypes', type: 'FieldValueInvalid', value: types, detail: 'must be a list' });
    } else {
      types.forEach((t, i) => {
        if (t !== 'Ingress' && t !== 'Egress') {
          errs.push({ field: `spec.policyTypes[${i}]`, type: 'FieldValueNotSupported', value: t, detail: 'supported values: "Egress", "Ingress"' });
        }
      });
      if (types.length > 2) errs.push({ field: 'spec.policyTypes', type: 'FieldValueInvalid', value: types, detail: 'may not specify more than two policyTypes' });
    }
  }
  return errs;
}

function validatePodSpec(spec: Json): FieldError[] {
  if (spec === undefined || spec === null) return [];
  if (!isObject(spec)) return [{ field: 'spec', type: 'FieldValueInvalid', value: spec, detail: 'must be an object' }];
  const containers = spec.containers;
  if (containers === undefined || containers === null) return [];
  if (!Array.isArray(containers)) return [{ field: 'spec.containers', type: 'FieldValueInvalid', value: containers, detail: 'must be a list' }];
  const errs: FieldError[] = [];
  containers.forEach((c, i) => {
    if (!isObject(c)) {
      errs.push({ field: `spec.containers[${i}]`, type: 'FieldValueInvalid', value: c, detail: 'must be an object' });
      return;
    }
    const ports = c.ports;
    if (Array.isArray(ports)) {
      ports.forEach((p, j) => {
        const path = `spec.containers[${i}].ports[${j}]`;
        if (!isObject(p)) return;
        if (!isPortNumber(p.containerPort)) errs.push({ field: `${path}.containerPort`, type: 'FieldValueInvalid', value: p.containerPort ?? null, detail: PORT_RANGE_MSG });
        if (typeof p.name === 'string') for (const detail of portNameErrors(p.name)) errs.push({ field: `${path}.name`, type: 'FieldValueInvalid', value: p.name, detail });
      });
    }
  });
  return errs;
}

/** All field errors of an object of type `rt`; empty means the apiserver would accept it. */
export function validateObject(rt: ResourceType, obj: Json): FieldError[] {
  if (!isObject(obj)) return [{ field: '', type: 'FieldValueInvalid', value: obj, detail: 'must be an object' }];
  const errs = validateMetadata(rt, obj.metadata);
  if (rt.resource === 'networkpolicies') errs.push(...validateNetworkPolicySpec(obj.spec));
  if (rt.resource === 'pods') errs.push(...validatePodSpec(obj.spec));
  const crd = crdSchema(rt);
  if (crd) errs.push(...validateSchema(crd, obj));
  return errs;
}

const POD_UPDATE_MSG =
  'pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)';

/** A pod spec with the fields an update may change blanked out. */
function podSpecCore(spec: Json): Json {
  if (!isObject(spec)) return spec;
  const copy = structuredClone(spec);
  for (const key of ['activeDeadlineSeconds', 'tolerations', 'terminationGracePeriodSeconds']) delete copy[key];
  for (const key of ['containers', 'initContainers']) {
    const list = copy[key];
    if (Array.isArray(list)) for (const c of list) if (isObject(c)) delete c.image;
  }
  return copy;
}

/**
 * What an update may not change, beyond validateObject: a pod's spec is immutable except images,
 * deadlines and tolerations (labels and annotations stay free, as on a real cluster).
 */
export function validateUpdate(rt: ResourceType, current: Json, next: Json): FieldError[] {
  if (rt.resource !== 'pods' || !isObject(current) || !isObject(next)) return [];
  return deepEqual(podSpecCore(current.spec), podSpecCore(next.spec)) ? [] : [{ field: 'spec', type: 'FieldValueForbidden', detail: POD_UPDATE_MSG }];
}
