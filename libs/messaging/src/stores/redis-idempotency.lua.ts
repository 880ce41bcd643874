// Lua scripts of the Redis idempotency store. One key per script: Cluster-safe as it is.
// A key holds `r:<token>` while a body runs (with the lease as its TTL) and `d:<token>` once done
// (with the retention as its TTL).

/** KEYS[1] key; ARGV token, leaseMs → {1} claimed, {2} done, {3, pttl} running. */
export const CLAIM_SCRIPT = `
local current = redis.call('GET', KEYS[1])
if not current then
  redis.call('SET', KEYS[1], 'r:' .. ARGV[1], 'PX', ARGV[2])
  return {1, 0}
end
if string.sub(current, 1, 2) == 'd:' then return {2, 0} end
return {3, redis.call('PTTL', KEYS[1])}
`;

/** KEYS[1] key; ARGV token, ttlMs: marks done unless another claim took the key meanwhile. */
export const COMPLETE_SCRIPT = `
local current = redis.call('GET', KEYS[1])
if (not current) or current == 'r:' .. ARGV[1] then
  redis.call('SET', KEYS[1], 'd:' .. ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
`;

/** KEYS[1] key; ARGV token: frees the claim of a body that failed. */
export const RELEASE_SCRIPT = `
if redis.call('GET', KEYS[1]) == 'r:' .. ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

/** KEYS[1] key; ARGV token, leaseMs: renews a claim still running. */
export const EXTEND_SCRIPT = `
if redis.call('GET', KEYS[1]) == 'r:' .. ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
`;
