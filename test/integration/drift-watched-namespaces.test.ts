// The namespaces the hardening step adds to drift monitoring, on a real redis-server: what the
// configuration already covers is said to be "already on", the rest is added once (shared by every
// replica), and an evaluation compares the configured globs (when enabled) plus the set.
import { describe, expect, it } from 'vitest';
import { configCovers, driftWatch, monitoredNamespaces, WatchedNamespaces } from '../../src/drift/watched-namespaces.js';
import { redisConnections, uniquePrefix } from '../helpers/redis.js';

const redis = redisConnections();

describe('watched namespaces', () => {
  it('drift off in config: the namespaces are turned on once, then already on, from any connection', async () => {
    const prefix = uniquePrefix('watched');
    const config = { enabled: false, namespaces: ['*'] };
    const first = driftWatch(new WatchedNamespaces(redis(), prefix), config);
    expect(await first.watch(['db', 'api'])).toEqual({ turnedOn: ['db', 'api'], alreadyOn: [] });
    // Another replica (another connection) sees them.
    const second = driftWatch(new WatchedNamespaces(redis(), prefix), config);
    expect(await second.watch(['db', 'shop'])).toEqual({ turnedOn: ['shop'], alreadyOn: ['db'] });
    expect(await new WatchedNamespaces(redis(), prefix).list()).toEqual(['api', 'db', 'shop']);
  });

  it('drift on for matching globs: those are already on and not added', async () => {
    const prefix = uniquePrefix('watched');
    const watched = new WatchedNamespaces(redis(), prefix);
    const watch = driftWatch(watched, { enabled: true, namespaces: ['shop-*'] });
    expect(await watch.watch(['shop-db', 'db'])).toEqual({ turnedOn: ['db'], alreadyOn: ['shop-db'] });
    expect(await watched.list()).toEqual(['db']);
    expect(watch.unavailable()).toBeUndefined();
    expect(driftWatch(watched, { enabled: true, namespaces: ['*'] }, 'no policy repository').unavailable()).toBe('no policy repository');
  });

  it('what an evaluation compares', () => {
    expect(monitoredNamespaces({ enabled: false, namespaces: ['*'] }, [])).toEqual([]);
    expect(monitoredNamespaces({ enabled: false, namespaces: ['*'] }, ['db'])).toEqual(['db']);
    expect(monitoredNamespaces({ enabled: true, namespaces: ['shop-*'] }, ['db', 'shop-*'])).toEqual(['shop-*', 'db']);
    expect(configCovers({ enabled: true, namespaces: ['shop-*'] }, 'shop-api')).toBe(true);
    expect(configCovers({ enabled: false, namespaces: ['*'] }, 'db')).toBe(false);
  });
});
