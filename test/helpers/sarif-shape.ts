// Checks a SARIF log against the required properties, enums, number ranges and closed property
// sets of the SARIF 2.1.0 schema (the objects lint emits), plus what GitHub code scanning needs
// (a rule for every ruleId, a file and start line for every result). Returns the violations.

type Json = Record<string, unknown>;

function isObject(x: unknown): x is Json {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

class Checker {
  readonly problems: string[] = [];

  fail(path: string, message: string): void {
    this.problems.push(`${path}: ${message}`);
  }

  object(x: unknown, path: string, required: readonly string[], allowed: readonly string[]): x is Json {
    if (!isObject(x)) {
      this.fail(path, 'must be an object');
      return false;
    }
    for (const key of required) if (!(key in x)) this.fail(path, `missing required property "${key}"`);
    for (const key of Object.keys(x)) if (!allowed.includes(key)) this.fail(path, `property "${key}" is not defined by SARIF 2.1.0`);
    return true;
  }

  string(x: unknown, path: string): void {
    if (typeof x !== 'string') this.fail(path, 'must be a string');
  }

  integer(x: unknown, path: string, min: number): void {
    if (typeof x !== 'number' || !Number.isInteger(x) || x < min) this.fail(path, `must be an integer >= ${min}`);
  }

  oneOf(x: unknown, path: string, values: readonly string[]): void {
    if (typeof x !== 'string' || !values.includes(x)) this.fail(path, `must be one of ${values.join(', ')}`);
  }

  message(x: unknown, path: string, allowed = ['text', 'markdown', 'properties']): void {
    if (!this.object(x, path, [], allowed)) return;
    if (!('text' in x) && !('id' in x)) this.fail(path, 'needs "text" or "id"');
    if ('text' in x) this.string(x.text, `${path}.text`);
  }
}

const LEVELS = ['none', 'note', 'warning', 'error'];

export function sarifProblems(log: unknown): string[] {
  const c = new Checker();
  if (!c.object(log, '$', ['version', 'runs'], ['$schema', 'version', 'runs', 'inlineExternalProperties', 'properties'])) return c.problems;
  if (log.version !== '2.1.0') c.fail('$.version', 'must be "2.1.0"');
  if (log.$schema !== undefined && !/^https?:\/\/\S+$/.test(String(log.$schema))) c.fail('$.$schema', 'must be a URI');
  if (!Array.isArray(log.runs)) return [...c.problems, '$.runs: must be an array'];
  log.runs.forEach((run, r) => {
    const rp = `$.runs[${r}]`;
    if (!c.object(run, rp, ['tool'], ['tool', 'results', 'invocations', 'originalUriBaseIds', 'automationDetails', 'columnKind', 'properties'])) return;
    const ruleIds: string[] = [];
    if (c.object(run.tool, `${rp}.tool`, ['driver'], ['driver', 'extensions', 'properties']) && c.object(run.tool.driver, `${rp}.tool.driver`, ['name'], ['name', 'version', 'semanticVersion', 'informationUri', 'rules', 'fullName', 'properties'])) {
      const driver = run.tool.driver;
      c.string(driver.name, `${rp}.tool.driver.name`);
      const rules = Array.isArray(driver.rules) ? driver.rules : [];
      rules.forEach((rule, i) => {
        const p = `${rp}.tool.driver.rules[${i}]`;
        if (!c.object(rule, p, ['id'], ['id', 'name', 'shortDescription', 'fullDescription', 'help', 'helpUri', 'defaultConfiguration', 'properties'])) return;
        c.string(rule.id, `${p}.id`);
        if (ruleIds.includes(String(rule.id))) c.fail(`${p}.id`, 'duplicate rule id');
        ruleIds.push(String(rule.id));
        for (const key of ['shortDescription', 'fullDescription', 'help'] as const) if (key in rule) c.message(rule[key], `${p}.${key}`);
        // What GitHub shows for a rule.
        for (const key of ['name', 'shortDescription', 'help', 'defaultConfiguration']) if (!(key in rule)) c.fail(p, `GitHub code scanning needs "${key}"`);
        if (c.object(rule.defaultConfiguration, `${p}.defaultConfiguration`, [], ['level', 'enabled', 'rank', 'parameters', 'properties'])) c.oneOf(rule.defaultConfiguration.level, `${p}.defaultConfiguration.level`, LEVELS);
      });
    }
    if (!Array.isArray(run.results)) return c.fail(`${rp}.results`, 'must be an array');
    run.results.forEach((result, i) => {
      const p = `${rp}.results[${i}]`;
      if (!c.object(result, p, ['message'], ['ruleId', 'ruleIndex', 'level', 'message', 'locations', 'partialFingerprints', 'fingerprints', 'suppressions', 'properties'])) return;
      c.message(result.message, `${p}.message`);
      c.string(result.ruleId, `${p}.ruleId`);
      if (!ruleIds.includes(String(result.ruleId))) c.fail(`${p}.ruleId`, 'names no rule of tool.driver.rules');
      if ('ruleIndex' in result) {
        c.integer(result.ruleIndex, `${p}.ruleIndex`, -1);
        if (ruleIds[result.ruleIndex as number] !== result.ruleId) c.fail(`${p}.ruleIndex`, 'does not point at the rule of ruleId');
      }
      c.oneOf(result.level, `${p}.level`, LEVELS);
      if (!Array.isArray(result.locations) || result.locations.length === 0) c.fail(`${p}.locations`, 'GitHub code scanning needs a location');
      (Array.isArray(result.locations) ? result.locations : []).forEach((loc, k) => {
        const lp = `${p}.locations[${k}]`;
        if (!c.object(loc, lp, [], ['id', 'physicalLocation', 'logicalLocations', 'message', 'properties'])) return;
        if (!c.object(loc.physicalLocation, `${lp}.physicalLocation`, ['artifactLocation'], ['artifactLocation', 'region', 'contextRegion', 'address', 'properties'])) return;
        const phys = loc.physicalLocation;
        if (c.object(phys.artifactLocation, `${lp}.physicalLocation.artifactLocation`, ['uri'], ['uri', 'uriBaseId', 'index', 'description', 'properties'])) {
          const uri = phys.artifactLocation.uri;
          c.string(uri, `${lp}.physicalLocation.artifactLocation.uri`);
          // A relative reference (RFC 3986): no scheme, no leading "/", only path characters and %XX escapes.
          if (typeof uri === 'string' && (/^[a-z][a-z0-9+.-]*:/i.test(uri) || uri.startsWith('/') || !/^(?:[A-Za-z0-9\-._~!$&'()*+,;=@/]|%[0-9A-Fa-f]{2})+$/.test(uri))) {
            c.fail(`${lp}.physicalLocation.artifactLocation.uri`, `"${uri}" is not a relative URI reference`);
          }
        }
        if (c.object(phys.region, `${lp}.physicalLocation.region`, ['startLine'], ['startLine', 'startColumn', 'endLine', 'endColumn', 'charOffset', 'charLength', 'snippet', 'message', 'properties'])) c.integer(phys.region.startLine, `${lp}.physicalLocation.region.startLine`, 1);
      });
      if ('partialFingerprints' in result) {
        if (!isObject(result.partialFingerprints)) c.fail(`${p}.partialFingerprints`, 'must be an object');
        else for (const [k, v] of Object.entries(result.partialFingerprints)) c.string(v, `${p}.partialFingerprints.${k}`);
      }
      if ('suppressions' in result) {
        if (!Array.isArray(result.suppressions)) return c.fail(`${p}.suppressions`, 'must be an array');
        result.suppressions.forEach((s, k) => {
          const sp = `${p}.suppressions[${k}]`;
          if (!c.object(s, sp, ['kind'], ['guid', 'kind', 'status', 'justification', 'location', 'properties'])) return;
          c.oneOf(s.kind, `${sp}.kind`, ['inSource', 'external']);
          if ('status' in s) c.oneOf(s.status, `${sp}.status`, ['accepted', 'underReview', 'rejected']);
          if ('justification' in s) c.string(s.justification, `${sp}.justification`);
        });
      }
    });
  });
  return c.problems;
}
