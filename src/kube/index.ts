// The Kubernetes adapter: the only module (outside src/sim) that talks to @kubernetes/client-node.

export { createKubeGateway, type ApplyOptions, type KubeGateway } from './gateway.js';
export { KubeApiError, toKubeApiError } from './errors.js';
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
