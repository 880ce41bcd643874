/**
 * GCRA on the Redis server's clock (see ../gcra.ts, which this mirrors line for line). One key
 * per bucket holding its TAT in whole microseconds, expiring when the bucket is empty again.
 *
 * KEYS[1] bucket · ARGV[1] interval µs · ARGV[2] tolerance µs · ARGV[3] max wait µs
 * Returns { allowed 0|1, delay µs, remaining, reset µs, now µs }.
 * @internal
 */
export const TAKE_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local max_wait = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
local base = tat
if base < now then base = now end
local delay = base - tolerance - now
if delay < 0 then delay = 0 end
if delay > max_wait then
  return { 0, delay, 0, base - now, now }
end
local next_tat = base + interval
redis.call('SET', KEYS[1], string.format('%.0f', next_tat), 'PX', math.ceil((next_tat - now) / 1000))
local remaining = math.floor((now + tolerance - next_tat) / interval) + 1
if remaining < 0 then remaining = 0 end
return { 1, delay, remaining, next_tat - now, now }
`;
