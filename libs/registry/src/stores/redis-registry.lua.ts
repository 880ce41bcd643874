/**
 * The Lua scripts of `RedisRegistryStore`, as named constants. Each runs atomically on the
 * server through core's `RedisScript` (EVALSHA, EVAL on NOSCRIPT); every key one touches is under
 * the service's `{registry:<service>}` hash tag, so the store works on Redis Cluster.
 * @internal
 */

// Every script reads the clock with TIME (Redis 7 replicates script effects, so this is allowed
// before writes): times in records come from the one server clock, never from an app's clock.
const NOW = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

// The owner check: the first registration stores SHA1(proof); later writes must present the
// proof itself. The stored hash is readable but does not reveal the proof.
const OWNER = `local function owned(owners, id, proof)
  local owner = redis.call('HGET', owners, id)
  if not owner or owner == '' then return true end
  return proof ~= '' and redis.sha1hex(proof) == owner
end`;

/** KEYS: index, records, owners. ARGV: id, json, ttlMs, proof, channel. */
export const REGISTER = `${NOW}
${OWNER}
if not owned(KEYS[3], ARGV[1], ARGV[4]) then return 'forbidden' end
local rec = cjson.decode(ARGV[2])
rec.registeredAt = now
rec.heartbeatAt = now
rec.updatedAt = now
local json = cjson.encode(rec)
local exp = now + tonumber(ARGV[3])
redis.call('HSET', KEYS[2], ARGV[1], json)
redis.call('HSET', KEYS[3], ARGV[1], ARGV[4] == '' and '' or redis.sha1hex(ARGV[4]))
redis.call('ZADD', KEYS[1], exp, ARGV[1])
redis.call('PUBLISH', ARGV[5], cjson.encode({ t = 'up', id = ARGV[1], r = json, e = exp, n = now }))
return 'ok'`;

/** KEYS: index, records, owners. ARGV: id, ttlMs, proof. No event: heartbeats stay off the bus. */
export const HEARTBEAT = `${NOW}
${OWNER}
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
local json = redis.call('HGET', KEYS[2], ARGV[1])
-- Expired but not yet pruned counts as gone: the instance registers again and watchers get 'up'.
if not json or not score or tonumber(score) < now then return 'missing' end
if not owned(KEYS[3], ARGV[1], ARGV[3]) then return 'forbidden' end
local rec = cjson.decode(json)
rec.heartbeatAt = now
redis.call('HSET', KEYS[2], ARGV[1], cjson.encode(rec))
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
return 'ok'`;

/**
 * KEYS: index, records, owners, lease, fence. ARGV: id, field, value, proof, fence, channel.
 * A fence `#<n>` is a fencing token from another lease (a @keel/locks lock): refused when lower
 * than the highest one accepted so far, which it then becomes. Any other fence must equal the
 * registry's own lease token.
 */
export const SET_STATUS = `${NOW}
${OWNER}
-- Fencing tokens are compared as decimal strings: Lua numbers print and parse large integers
-- (a lock's token is ~1.8e15) with 14 significant digits only.
local token = nil
if string.sub(ARGV[5], 1, 1) == '#' then
  token = (string.gsub(string.sub(ARGV[5], 2), '^0+(%d)', '%1'))
  if not string.match(token, '^%d+$') then return 'fenced' end
  local seen = redis.call('GET', KEYS[5])
  if seen and (#token < #seen or (#token == #seen and token < seen)) then return 'fenced' end
elseif ARGV[5] ~= '' and redis.call('GET', KEYS[4]) ~= ARGV[5] then return 'fenced' end
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
local json = redis.call('HGET', KEYS[2], ARGV[1])
if not json or not score or tonumber(score) < now then return 'missing' end
if not owned(KEYS[3], ARGV[1], ARGV[4]) then return 'forbidden' end
local rec = cjson.decode(json)
local value = ARGV[3]
if ARGV[2] == 'draining' then value = (ARGV[3] == 'true') end
if rec[ARGV[2]] ~= value then
  rec[ARGV[2]] = value
  rec.updatedAt = now
  json = cjson.encode(rec)
  redis.call('HSET', KEYS[2], ARGV[1], json)
  redis.call('PUBLISH', ARGV[6], cjson.encode({ t = 'up', id = ARGV[1], r = json, e = tonumber(score), n = now }))
end
if token then redis.call('SET', KEYS[5], token) end
return 'ok'`;

/** KEYS: index, records, owners. ARGV: id, proof, channel. */
export const DEREGISTER = `${NOW}
${OWNER}
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 0 then
  redis.call('ZREM', KEYS[1], ARGV[1])
  return 'missing'
end
if not owned(KEYS[3], ARGV[1], ARGV[2]) then return 'forbidden' end
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('PUBLISH', ARGV[3], cjson.encode({ t = 'down', id = ARGV[1], n = now }))
return 'ok'`;

/**
 * KEYS: index, records, owners. ARGV: channel. Prunes expired instances (publishing 'down' for
 * each) and returns { now, id1, json1, expiry1, ... } in one atomic step, so no reader ever gets
 * an expired record and every watcher hears of the removal even if it did not prune itself.
 */
export const SNAPSHOT = `${NOW}
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. now)
for _, id in ipairs(expired) do
  redis.call('HDEL', KEYS[2], id)
  redis.call('HDEL', KEYS[3], id)
  redis.call('PUBLISH', ARGV[1], cjson.encode({ t = 'down', id = id, n = now }))
end
if #expired > 0 then redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. now) end
local live = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
local out = { tostring(now) }
for i = 1, #live, 2 do
  local json = redis.call('HGET', KEYS[2], live[i])
  if json then
    out[#out + 1] = live[i]
    out[#out + 1] = json
    out[#out + 1] = live[i + 1]
  end
end
return out`;

/** KEYS: lease, epoch. ARGV: owner, ttlMs. The epoch makes every token unique (fencing). */
export const ACQUIRE = `if redis.call('EXISTS', KEYS[1]) == 1 then return false end
local token = ARGV[1] .. ':' .. redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], token, 'PX', ARGV[2])
return token`;

/** KEYS: lease. ARGV: token, ttlMs. */
export const RENEW = `if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1`;

/** KEYS: lease. ARGV: token. */
export const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1`;
