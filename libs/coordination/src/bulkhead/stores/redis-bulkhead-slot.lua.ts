/**
 * Lua scripts of the Redis bulkhead slot store. One sorted set per bulkhead: member = slot
 * holder, score = lease expiry in Redis server time (so replicas' clocks never matter). Expired
 * leases (a crashed holder) are dropped before counting, so a dead replica frees its slots; each
 * script touches one key, so the store works on Redis Cluster.
 * @internal
 */

/** KEYS[1] the set; ARGV limit, holder, leaseMs. Returns 1 when the slot was taken, else 0. */
export const ACQUIRE_SLOT_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[2])
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]) * 2)
  return 1
end
return 0
`;

/** KEYS[1] the set; ARGV leaseMs, holder… Extends only leases still there (ZADD XX). */
export const RENEW_SLOTS_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for i = 2, #ARGV do redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[1]), ARGV[i]) end
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1]) * 2)
return 1
`;
