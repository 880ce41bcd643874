// Lua scripts of the Redis parking store. One sorted set per slot: its members are the
// original-partition offsets of the key's records in the retry pipeline (score = offset); the
// set expires ARGV ttl after its last change, so a member left behind by a crash between
// "park" and "send" only slows its key for a while.

/** KEYS[1] slot; ARGV offset, ttlMs → 1 when parked (and the offset queued), else 0. */
export const JOIN_IF_PARKED_SCRIPT = `
if redis.call('ZCARD', KEYS[1]) > 0 then
  redis.call('ZADD', KEYS[1], ARGV[1], ARGV[1])
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
`;

/** KEYS[1] slot; ARGV offset, ttlMs: queues the offset (parks the key). */
export const PARK_SCRIPT = `
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
`;

/** KEYS[1] slot; ARGV offset → {queued 0/1, head 0/1}. */
export const POSITION_SCRIPT = `
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return {0, 0} end
local first = redis.call('ZRANGE', KEYS[1], 0, 0)
if first[1] == ARGV[1] then return {1, 1} end
return {1, 0}
`;

/** KEYS[1] slot; ARGV offset, ttlMs: the offset leaves; an empty set is deleted → remaining. */
export const LEAVE_SCRIPT = `
redis.call('ZREM', KEYS[1], ARGV[1])
local left = redis.call('ZCARD', KEYS[1])
if left > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return left
`;
