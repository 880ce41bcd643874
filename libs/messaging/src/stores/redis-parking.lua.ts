// Lua scripts of the Redis parking store. One hash per slot: `count` (records of the key in the
// retry pipeline) and `blocked`; the hash expires ARGV ttl after its last change, so a count
// left behind by a crash between "park" and "send" only slows its key for a while.

/** KEYS[1] slot; ARGV ttlMs → 1 when parked (and counted), else 0. */
export const JOIN_IF_PARKED_SCRIPT = `
local count = tonumber(redis.call('HGET', KEYS[1], 'count') or '0')
if count > 0 then
  redis.call('HINCRBY', KEYS[1], 'count', 1)
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  return 1
end
return 0
`;

/** KEYS[1] slot; ARGV ttlMs: one more record parked. */
export const PARK_SCRIPT = `
redis.call('HINCRBY', KEYS[1], 'count', 1)
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
`;

/** KEYS[1] slot; ARGV ttlMs: one record left; the slot is deleted at zero. */
export const LEAVE_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local count = redis.call('HINCRBY', KEYS[1], 'count', -1)
if count <= 0 then redis.call('DEL', KEYS[1]) return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return count
`;

/** KEYS[1] slot; ARGV blocked (0/1), ttlMs: sets the flag of a parked slot. */
export const SET_BLOCKED_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'blocked', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
`;
