// Every Redis key the incident store uses, in one place.
export interface IncidentKeys {
  incident(id: string): string;
  timeline(id: string): string;
  threadCursor(id: string): string;
  threadLock(id: string): string;
  dirty(id: string): string;
  scope(scopeKey: string): string;
  index(): string;
}

export function incidentKeys(prefix: string): IncidentKeys {
  return {
    incident: (id) => `${prefix}:incident:${id}`,
    timeline: (id) => `${prefix}:incident:${id}:timeline`,
    threadCursor: (id) => `${prefix}:incident:${id}:thread-cursor`,
    threadLock: (id) => `${prefix}:incident:${id}:thread-lock`,
    dirty: (id) => `${prefix}:incident:${id}:dirty`,
    scope: (scopeKey) => `${prefix}:scope:${scopeKey}`,
    index: () => `${prefix}:incidents`,
  };
}
