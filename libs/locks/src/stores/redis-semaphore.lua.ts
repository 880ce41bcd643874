import { nextFenceLua } from './redis-fence.lua.js';

/**
 * Lua scripts of weighted semaphores (and read-write locks, which are semaphores where a reader
 * takes one permit and a writer all of them). Keys, all under one `{hash tag}`: KEYS[1] the
 * holders (ZSET token → expiry in ms), KEYS[2] their weights and fences (HASH token →
 * `weight|fence`), KEYS[3] the fence counter, KEYS[4] the wait queue (ZSET token → arrival µs),
 * KEYS[5] the queue entries (HASH token → `ttl|deadline|fair|weight|channel`).
 *
 * Expired holders are pruned on every call, so a crashed holder's permits come back after its
 * TTL. Counting the permits in use walks the holders: O(holders), meant for tens, not millions.
 */
const PRELUDE = `
local S, W, F, Z, H = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local t = redis.call('TIME')
local nowus = tonumber(t[1]) * 1000000 + tonumber(t[2])
local nowms = math.floor(nowus / 1000)

local function next_fence()
  ${nextFenceLua('F', "string.format('%.0f', nowus)", 'fs')}
  return fs
end

local function prune()
  local dead = redis.call('ZRANGEBYSCORE', S, '-inf', nowms)
  for _, token in ipairs(dead) do
    redis.call('ZREM', S, token)
    redis.call('HDEL', W, token)
  end
end

local function used()
  local total = 0
  local holders = redis.call('ZRANGE', S, 0, -1)
  if #holders == 0 then return 0 end
  local infos = redis.call('HMGET', W, unpack(holders))
  for _, info in ipairs(infos) do
    if info then total = total + tonumber(string.match(info, '^(%d+)|')) end
  end
  return total
end

local function keep(ttl)
  -- The holder sets live as long as their longest hold.
  local longest = redis.call('ZRANGE', S, -1, -1, 'WITHSCORES')[2]
  local ms = math.max(tonumber(ttl), (tonumber(longest) or 0) - nowms) + 1000
  redis.call('PEXPIRE', S, ms)
  redis.call('PEXPIRE', W, ms)
end

local function grant(token, ttl, weight)
  local fs = next_fence()
  redis.call('ZADD', S, nowms + tonumber(ttl), token)
  redis.call('HSET', W, token, weight .. '|' .. fs)
  keep(ttl)
  return fs
end

local function parse_entry(info)
  if not info then return nil end
  return string.match(info, '^(%d+)|(%d+)|(%d)|(%d+)|(.*)$')
end

-- Grants (fair waiters) or wakes (unfair ones) queue heads in order while their weight fits.
local function handoff(permits)
  local free = permits - used()
  while free > 0 do
    local head = redis.call('ZRANGE', Z, 0, 0)[1]
    if not head then return end
    local ttl, deadline, fair, weight, channel = parse_entry(redis.call('HGET', H, head))
    if (not ttl) or tonumber(deadline) < nowms then
      redis.call('ZREM', Z, head)
      redis.call('HDEL', H, head)
    elseif tonumber(weight) > free then
      return
    else
      redis.call('ZREM', Z, head)
      redis.call('HDEL', H, head)
      free = free - tonumber(weight)
      if fair == '1' then
        local fs = grant(head, ttl, weight)
        redis.call('PUBLISH', channel, 'g|' .. head .. '|' .. fs .. '|' .. ttl)
      else
        redis.call('PUBLISH', channel, 'w|' .. head)
      end
    end
  end
end
`;

/**
 * ARGV: token, ttl, weight, permits, fair, enqueue, channel, queue lease ms.
 * Returns {1, fence, validity ms} or {0, '', retry-after ms}.
 */
export const SEMAPHORE_ACQUIRE_SCRIPT = `${PRELUDE}
local token, ttl, weight, permits, fair = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5]
prune()
local mine = redis.call('HGET', W, token)
if mine then
  return {1, string.match(mine, '|(%d+)$'), tonumber(redis.call('ZSCORE', S, token)) - nowms}
end

local function join_queue()
  redis.call('ZADD', Z, 'NX', nowus, token)
  redis.call('HSET', H, token, ttl .. '|' .. (nowms + tonumber(ARGV[8])) .. '|' .. fair .. '|' .. weight .. '|' .. ARGV[7])
  redis.call('PEXPIRE', Z, tonumber(ARGV[8]) * 2)
  redis.call('PEXPIRE', H, tonumber(ARGV[8]) * 2)
end

local function retry_after()
  local first = redis.call('ZRANGE', S, 0, 0, 'WITHSCORES')[2]
  if not first then return 0 end
  return math.max(0, tonumber(first) - nowms)
end

if fair == '1' then
  while true do
    local head = redis.call('ZRANGE', Z, 0, 0)[1]
    if (not head) or head == token then break end
    local ettl, deadline = parse_entry(redis.call('HGET', H, head))
    if (not ettl) or tonumber(deadline) < nowms then
      redis.call('ZREM', Z, head)
      redis.call('HDEL', H, head)
    else
      if ARGV[6] == '1' then join_queue() end
      handoff(permits)
      return {0, '', retry_after()}
    end
  end
end

if used() + weight <= permits then
  local fs = grant(token, ttl, weight)
  redis.call('ZREM', Z, token)
  redis.call('HDEL', H, token)
  return {1, fs, tonumber(ttl)}
end
if ARGV[6] == '1' then join_queue() end
return {0, '', retry_after()}
`;

/** ARGV: token, fence, permits. Returns 1 when released, 0 when not held. */
export const SEMAPHORE_RELEASE_SCRIPT = `${PRELUDE}
prune()
local mine = redis.call('HGET', W, ARGV[1])
if (not mine) or string.match(mine, '|(%d+)$') ~= ARGV[2] then return 0 end
redis.call('ZREM', S, ARGV[1])
redis.call('HDEL', W, ARGV[1])
handoff(tonumber(ARGV[3]))
return 1
`;

/** ARGV: token, fence, ttl. Returns 1 when extended, 0 when not held. */
export const SEMAPHORE_EXTEND_SCRIPT = `${PRELUDE}
prune()
local mine = redis.call('HGET', W, ARGV[1])
if (not mine) or string.match(mine, '|(%d+)$') ~= ARGV[2] then return 0 end
redis.call('ZADD', S, 'XX', nowms + tonumber(ARGV[3]), ARGV[1])
keep(ARGV[3])
return 1
`;

/** ARGV: token, permits. Leaves the queue; a permit granted meanwhile is given back. */
export const SEMAPHORE_CANCEL_SCRIPT = `${PRELUDE}
prune()
redis.call('ZREM', Z, ARGV[1])
redis.call('HDEL', H, ARGV[1])
if redis.call('HGET', W, ARGV[1]) then
  redis.call('ZREM', S, ARGV[1])
  redis.call('HDEL', W, ARGV[1])
end
handoff(tonumber(ARGV[2]))
return 1
`;
