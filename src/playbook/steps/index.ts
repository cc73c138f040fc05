// The step handlers this version implements, by action name.
import type { StepActionCheck } from '../load.js';
import { containStep } from './contain.js';
import { hardenStep } from './harden.js';
import { restoreStep } from './restore.js';
import { traceStep } from './trace.js';
import { validateStep } from './validate.js';
import type { StepHandler } from './types.js';

export const stepHandlers: ReadonlyMap<string, StepHandler> = new Map([
  [containStep.action, containStep],
  [traceStep.action, traceStep],
  [validateStep.action, validateStep],
  [restoreStep.action, restoreStep],
  [hardenStep.action, hardenStep],
]);

export const stepActionCheck: StepActionCheck = {
  actions: new Set(stepHandlers.keys()),
  validateParams: (action, params) => stepHandlers.get(action)?.validateParams(params) ?? [],
};
