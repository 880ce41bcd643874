/**
 * Adds a cache key to a tag's set and makes the set live at least as long as that key, never
 * shorter (a later key with a shorter TTL must not make the tag forget an earlier, longer-lived
 * one, or evicting the tag would miss it). One key per call: Cluster-safe.
 *
 * KEYS[1] tag set · ARGV[1] cache key · ARGV[2] ms the key lives
 * @internal
 */
export const TAG_SCRIPT = `
local ttl = redis.call('PTTL', KEYS[1])
redis.call('SADD', KEYS[1], ARGV[1])
if ttl < tonumber(ARGV[2]) then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 1
`;

/**
 * Frees a fill lease if the caller still holds it (a slow filler whose lease ran out must not
 * free the next filler's).
 *
 * KEYS[1] lease · ARGV[1] holder
 * @internal
 */
export const RELEASE_LEASE_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;
