// The Kubernetes adapter: the only module (outside src/sim) that talks to @kubernetes/client-node.

export { createKubeGateway, type ApplyOptions, type KubeGateway } from './gateway.js';
export { KubeApiError, explainKubeError, toKubeApiError, type MissingPermission } from './errors.js';
export { KINDS, apiVersionOf, collectionPath, crdName, kindLabel, type KindInfo, type KindName, type KindObjects } from './kinds.js';
export { availability, discoverKinds, type Discovery, type KindAvailability } from './discovery.js';
export {
  createObjectClient,
  isStaleWrite,
  type DeleteOptions,
  type ListOptions,
  type ListResult,
  type MergePatchOptions,
  type ObjectApplyOptions,
  type ObjectClient,
  type ObjectRef,
  type WriteOptions,
} from './objects.js';
export { watchKind, type KindWatch, type KindWatchOptions, type WatchEvent, type WatchEventType, type WatchStats } from './watch.js';
export type * from './resources.js';
export { BOT_PERMISSIONS, isGranted, type Permission } from './permissions.js';
export { loadKubeConfig, type LoadKubeConfigOptions } from './config.js';
export {
  LabelSelectorSyntaxError,
  MAX_SELECTOR_LENGTH,
  formatLabelSelector,
  labelKeyError,
  labelValueError,
  parseLabelSelector,
  selectorMatches,
  type ParsedLabelSelector,
  type SelectorExpression,
  type SelectorOperator,
} from './label-selector.js';
export type { KubeConfig, V1NetworkPolicy, V1Pod } from '@kubernetes/client-node';
