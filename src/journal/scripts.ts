// The journal's Lua scripts. Each runs atomically in Redis, so a write is either all there (its
// entries, the object's state, the live set) or not at all, and two writers can never both win.

/**
 * Commit one observation. KEYS: stream, state hash, live set, tombstones, lock, start.
 * ARGV: token ('' = unfenced), field, expected header ('' = none), nowMs, maxEntries, cutoffMs,
 * kind, namespace, name, rv, uid, live (1/0), state json, n, then n × (type, rv, created, body):
 * created is the object's creation time in ms, written (field c) when not ''.
 * State values are "<head id>|<rv>|<uid>|<L or D>\n<json>"; the header line is the CAS token.
 * Returns {'ok', id...}, {'fenced'} (the lock is not ours) or {'conflict'} (read again).
 */
export const COMMIT = `
if ARGV[1] ~= '' and redis.call('get', KEYS[5]) ~= ARGV[1] then return {'fenced'} end
local function header(value)
  if not value then return '' end
  local nl = string.find(value, '\\n', 1, true)
  if nl then return string.sub(value, 1, nl - 1) end
  return value
end
local current = header(redis.call('hget', KEYS[2], ARGV[2]))
if current ~= ARGV[3] then return {'conflict'} end
local head = ''
if current ~= '' then head = string.sub(current, 1, string.find(current, '|', 1, true) - 1) end
local ids = {'ok'}
local n = tonumber(ARGV[14])
for i = 0, n - 1 do
  local b = 15 + i * 4
  local fields = {'k', ARGV[7], 'ns', ARGV[8], 'n', ARGV[9], 't', ARGV[b], 'rv', ARGV[b + 1], 'p', head, 'e', ARGV[b + 3]}
  if ARGV[b + 2] ~= '' then fields[#fields + 1] = 'c' fields[#fields + 1] = ARGV[b + 2] end
  -- The watcher's clock orders entries; an id it cannot have (its clock went back) falls back to Redis's.
  local id = redis.pcall('xadd', KEYS[1], 'MAXLEN', ARGV[5], ARGV[4] .. '-*', unpack(fields))
  if type(id) == 'table' then id = redis.call('xadd', KEYS[1], 'MAXLEN', ARGV[5], '*', unpack(fields)) end
  head = id
  ids[#ids + 1] = id
end
if n > 0 then
  redis.call('xtrim', KEYS[1], 'MINID', ARGV[6])
  redis.call('set', KEYS[6], ARGV[4], 'NX')
end
local flag = 'D'
if ARGV[12] == '1' then flag = 'L' end
redis.call('hset', KEYS[2], ARGV[2], head .. '|' .. ARGV[10] .. '|' .. ARGV[11] .. '|' .. flag .. '\\n' .. ARGV[13])
if flag == 'L' then
  redis.call('sadd', KEYS[3], ARGV[2])
  redis.call('zrem', KEYS[4], ARGV[2])
else
  redis.call('srem', KEYS[3], ARGV[2])
  redis.call('zadd', KEYS[4], ARGV[4], ARGV[2])
end
-- Tombstones past the retention go, a few per write: their entries are gone too.
for _, f in ipairs(redis.call('zrangebyscore', KEYS[4], '-inf', '(' .. ARGV[6], 'LIMIT', 0, 16)) do
  local h = header(redis.call('hget', KEYS[2], f))
  if string.sub(h, -2) == '|D' then redis.call('hdel', KEYS[2], f) end
  redis.call('zrem', KEYS[4], f)
end
return ids
`;

/**
 * One page of a time range, filtered in Redis so that entries of other namespaces or kinds never
 * travel. KEYS: stream. ARGV: start, end, scan budget, limit, clusterScoped (1/0), sightings'
 * createdBefore ms ('' = keep them), sightings' afterMs, nKinds, kinds..., nNamespaces,
 * namespaces... An `added` entry of an object created before createdBefore and observed more than
 * afterMs after its creation (its field c) is a first sighting, left out. Returns {last scanned
 * id, exhausted (1/0), entries}.
 */
export const QUERY = `
local createdBefore = tonumber(ARGV[6])
local sightedAfter = tonumber(ARGV[7])
local i = 8
local kinds = nil
local nk = tonumber(ARGV[i])
if nk > 0 then kinds = {} for j = 1, nk do kinds[ARGV[i + j]] = true end end
i = i + nk + 1
local spaces = nil
local nn = tonumber(ARGV[i])
if nn > 0 then spaces = {} for j = 1, nn do spaces[ARGV[i + j]] = true end end
local budget = tonumber(ARGV[3])
local limit = tonumber(ARGV[4])
local batch = redis.call('xrange', KEYS[1], ARGV[1], ARGV[2], 'COUNT', budget)
local out = {}
local last = ''
for _, e in ipairs(batch) do
  last = e[1]
  local f = {}
  for j = 1, #e[2], 2 do f[e[2][j]] = e[2][j + 1] end
  local ok = (kinds == nil) or kinds[f.k] == true
  if ok and spaces ~= nil then
    if f.ns ~= nil and f.ns ~= '' then ok = spaces[f.ns] == true
    elseif f.k == 'Namespace' then ok = spaces[f.n] == true
    else ok = ARGV[5] == '1' end
  end
  if ok and createdBefore ~= nil and f.t == 'added' and f.c ~= nil then
    local created = tonumber(f.c)
    local observed = tonumber(string.match(e[1], '^(%d+)'))
    if created ~= nil and observed ~= nil and created < createdBefore and observed - created > sightedAfter then ok = false end
  end
  if ok then
    out[#out + 1] = e
    if #out >= limit then return {last, 0, out} end
  end
end
local exhausted = 0
if #batch < budget then exhausted = 1 end
return {last, exhausted, out}
`;

/**
 * Walks one object's entries back (each names the one before: field p) from ARGV[1] until the entry
 * whose predecessor is at or before ARGV[2] (ms). KEYS: stream. ARGV: start id, atMs, max hops.
 * Returns {'found', entry} (its "before" is the answer), {'first', entry} (the object's first entry:
 * nothing before it), {'missing', id} (trimmed) or {'continue', id}.
 */
export const WALK = `
local id = ARGV[1]
local at = tonumber(ARGV[2])
for hop = 1, tonumber(ARGV[3]) do
  local r = redis.call('xrange', KEYS[1], id, id)
  if #r == 0 then return {'missing', id} end
  local p = ''
  for j = 1, #r[1][2], 2 do if r[1][2][j] == 'p' then p = r[1][2][j + 1] end end
  if p == '' then return {'first', r[1]} end
  local pms = tonumber(string.match(p, '^(%d+)-'))
  if pms == nil or pms <= at then return {'found', r[1]} end
  id = p
end
return {'continue', id}
`;
