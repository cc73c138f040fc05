// Argo CD's Application (argoproj.io/v1alpha1), from manifests/crds/application-crd.yaml: spec
// needs a destination and a project. Sources, sync policy, operation and status are large
// structures the simulation does not interpret: they are kept as sent. What matters to the bot
// is metadata (e.g. the argocd.argoproj.io/skip-reconcile annotation) and spec.syncPolicy.

import { ANY, int, obj, str, type Schema } from '../crd-schema.js';

export const APPLICATION: Schema = obj(
  {
    apiVersion: str(),
    kind: str(),
    metadata: ANY,
    spec: obj(
      {
        destination: obj({ name: str(), namespace: str(), server: str() }),
        project: str(),
        source: ANY,
        sources: ANY,
        sourceHydrator: ANY,
        syncPolicy: ANY,
        ignoreDifferences: ANY,
        info: ANY,
        revisionHistoryLimit: int(),
      },
      { required: ['destination', 'project'] },
    ),
    operation: ANY,
    status: ANY,
  },
  { required: ['metadata', 'spec'] },
);
