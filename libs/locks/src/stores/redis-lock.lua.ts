import { nextFenceLua, timeUsLua } from './redis-fence.lua.js';

/**
 * Lua scripts of the Redis lock store. Each script touches the keys of one lock, which all share
 * the lock's `{hash tag}`: KEYS[1] the lock (value `token|fence`, PX expiry), KEYS[3] the wait
 * queue (ZSET, score = arrival time in µs) and KEYS[4] the queue entries (HASH token →
 * `ttl|deadline|fair|channel`); and KEYS[2], the fence counter. On a standalone or Sentinel
 * Redis the counter is one key per store, shared by all its locks (tokens then increase across
 * all keys, which implies per key, and a million distinct lock keys do not leave a million
 * counters behind); on a cluster it is one per lock, under the lock's hash tag. A script runs
 * atomically, so a grant, a release and a hand-off can never interleave.
 *
 * The queued mark: a waiter that queues behind a holder appends `|q` to the lock's value, and a
 * grant made while others still wait carries it too. A release whose value has no mark knows
 * nobody waited behind this hold and deletes the lock without looking at the queue — one
 * command fewer on the path every uncontended lock takes. A mark can be stale (its waiter
 * timed out); that only sends the release the long way round.
 *
 * Needs Redis 6.2 or later (`SET ... GET`).
 *
 * Fencing: the next fence is `max(last + 1, Redis TIME in µs)`. While the counter survives it is
 * a plain counter; when Redis loses it (restart without persistence, failover to a replica that
 * missed it) the time floor still puts new tokens above every token handed out before, as long as
 * the server clock does not go back and fewer than a million locks per second are granted on one
 * key.
 */

const PRELUDE = `
local L, F, Z, H = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
-- Redis TIME is read at most once per call and only when needed: an uncontended release never
-- reads it.
local now_cache
local function nowus()
  if not now_cache then
    local t = redis.call('TIME')
    now_cache = tonumber(t[1]) * 1000000 + tonumber(t[2])
  end
  return now_cache
end
local function nowms() return math.floor(nowus() / 1000) end

-- next fence: see redis-fence.lua.ts.
local function next_fence()
  ${nextFenceLua('F', "string.format('%.0f', nowus())", 'fs')}
  return fs
end

local function parse_entry(info)
  if not info then return nil end
  local ttl, deadline, fair, channel = string.match(info, '^(%d+)|(%d+)|(%d)|(.*)$')
  return ttl, tonumber(deadline), fair, channel
end

-- Hands a free (or just released) lock to the first live waiter: a fair waiter receives the lock
-- itself (push hand-off, no extra round trip); an unfair one is only woken and races newcomers.
-- Dead waiters (queue lease expired) are dropped on the way, so a crashed waiter cannot wedge
-- the queue.
local function handoff()
  while true do
    local head = redis.call('ZRANGE', Z, 0, 0)[1]
    if not head then
      redis.call('DEL', L)
      return
    end
    local ttl, deadline, fair, channel = parse_entry(redis.call('HGET', H, head))
    if (not ttl) or deadline < nowms() then
      redis.call('ZREM', Z, head)
      redis.call('HDEL', H, head)
    elseif fair == '1' then
      local fs = next_fence()
      redis.call('ZREM', Z, head)
      redis.call('HDEL', H, head)
      local value = head .. '|' .. fs
      if redis.call('EXISTS', Z) == 1 then value = value .. '|q' end
      redis.call('SET', L, value, 'PX', ttl)
      redis.call('PUBLISH', channel, 'g|' .. head .. '|' .. fs .. '|' .. ttl)
      return
    else
      redis.call('DEL', L)
      redis.call('PUBLISH', channel, 'w|' .. head)
      return
    end
  end
end
`;

/**
 * ARGV: token, ttl ms, fair (0/1), enqueue (0/1), wake channel, queue lease ms, queued before
 * (0/1). Returns {1, fence, validity ms} or {0, '', retry-after ms}. The uncontended path runs
 * four commands: GET, TIME, SET (fence), SET (lock).
 */
export const ACQUIRE_SCRIPT = `${PRELUDE}
local token, ttl, fair, enqueue = ARGV[1], ARGV[2], ARGV[3], ARGV[4]

local function join_queue()
  redis.call('ZADD', Z, 'NX', nowus(), token)
  redis.call('HSET', H, token, ttl .. '|' .. (nowms() + tonumber(ARGV[6])) .. '|' .. fair .. '|' .. ARGV[5])
  local keep = tonumber(ARGV[6]) * 2
  redis.call('PEXPIRE', Z, keep)
  redis.call('PEXPIRE', H, keep)
end

local cur = redis.call('GET', L)
if cur then
  local holder, held_fence, mark = string.match(cur, '^([^|]*)|(%d+)(.*)$')
  if holder == token then
    -- Already handed to this waiter (its grant message may still be in flight).
    return {1, held_fence, redis.call('PTTL', L)}
  end
  if enqueue == '1' then
    join_queue()
    if mark == '' then redis.call('SET', L, cur .. '|q', 'KEEPTTL') end
  end
  return {0, '', redis.call('PTTL', L)}
end

if fair == '1' then
  while true do
    local head = redis.call('ZRANGE', Z, 0, 0)[1]
    if (not head) or head == token then break end
    local ettl, deadline, efair, channel = parse_entry(redis.call('HGET', H, head))
    if (not ettl) or deadline < nowms() then
      redis.call('ZREM', Z, head)
      redis.call('HDEL', H, head)
    else
      -- Free, but an earlier waiter is first in line: make sure it knows, and queue behind it.
      redis.call('PUBLISH', channel, 'w|' .. head)
      if enqueue == '1' then join_queue() end
      return {0, '', 0}
    end
  end
end

local fs = next_fence()
if ARGV[7] == '1' then
  redis.call('ZREM', Z, token)
  redis.call('HDEL', H, token)
end
local value = token .. '|' .. fs
if redis.call('EXISTS', Z) == 1 then value = value .. '|q' end
redis.call('SET', L, value, 'PX', ttl)
return {1, fs, tonumber(ttl)}
`;

/**
 * The uncontended fast path of an unfair acquisition that has never queued: three commands
 * (TIME, the fence counter's SET ... GET, SET NX PX) on two keys. KEYS: lock, fence counter.
 * ARGV: token, ttl ms. Returns the fence (a string) when granted, else the holder's remaining TTL
 * in ms (a number). A failed attempt still advances the fence counter; tokens only need to
 * increase, not to be dense.
 */
export const TRY_SCRIPT = `
local t = redis.call('TIME')
${nextFenceLua('KEYS[2]', timeUsLua('t'), 'fs')}
if redis.call('SET', KEYS[1], ARGV[1] .. '|' .. fs, 'NX', 'PX', ARGV[2]) then
  return fs
end
return redis.call('PTTL', KEYS[1])
`;

/**
 * ARGV: `token|fence`. Returns 1 when released, 0 when this holder no longer held the lock.
 * An unmarked hold (nobody queued behind it) is deleted with two commands and returns before
 * the prelude runs: Lua creates the prelude's closures on every call, which at 50 parallel
 * workers cost measurable Redis CPU.
 */
export const RELEASE_SCRIPT = `
local cur = redis.call('GET', KEYS[1])
if cur == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
if cur ~= ARGV[1] .. '|q' then return 0 end
if redis.call('EXISTS', KEYS[3]) == 0 then
  redis.call('DEL', KEYS[1])
  return 1
end
${PRELUDE}
handoff()
return 1
`;

/** KEYS: the lock. ARGV: `token|fence`, ttl ms. Returns 1 when extended, 0 when not held. */
export const EXTEND_SCRIPT = `
local cur = redis.call('GET', KEYS[1])
if cur ~= ARGV[1] and cur ~= ARGV[1] .. '|q' then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
`;

/**
 * ARGV: token. Leaves the queue; when the lock had meanwhile been handed to this token, or is
 * free, passes it on so a timed-out waiter never strands the next one.
 */
export const CANCEL_SCRIPT = `${PRELUDE}
local token = ARGV[1]
redis.call('ZREM', Z, token)
redis.call('HDEL', H, token)
local cur = redis.call('GET', L)
if (not cur) or string.sub(cur, 1, string.len(token) + 1) == token .. '|' then
  handoff()
end
return 1
`;

/**
 * Quorum write-back. KEYS: lock, fence counter. ARGV: `token|fence` on this node, the quorum
 * fence. Raises the node's counter to the fence the holder will use, only while it still holds
 * the lock here, so any later majority (which must include one of these nodes) issues more.
 */
export const BUMP_SCRIPT = `
local cur = redis.call('GET', KEYS[1])
if cur ~= ARGV[1] and cur ~= ARGV[1] .. '|q' then return 0 end
local last = tonumber(redis.call('GET', KEYS[2]) or '0')
if last < tonumber(ARGV[2]) then redis.call('SET', KEYS[2], ARGV[2], 'PX', 3600000) end
return 1
`;

/**
 * {@link TRY_SCRIPT} for several locks in one call: the store coalesces the uncontended attempts
 * issued in the same tick (standalone and Sentinel connections only; a cluster cannot run one
 * script across slots). One script call, one Redis TIME and one read and write of the fence
 * counter serve the whole batch: on Redis 7 every `redis.call` from Lua costs a few µs, so this
 * is what brings a fenced lock close to the cost of an unfenced `SET NX`.
 * KEYS: the fence counter, then the locks. ARGV: token, ttl ms (per lock). Returns one entry per
 * lock: its fence (a string) when granted, else the holder's remaining TTL in ms (a number).
 * Granted locks get consecutive fences above `max(last, now in µs)`, in batch order. The only
 * command that can fail (the counter's GET, on a key of another type) runs before any write, so a
 * failed call leaves no lock behind.
 */
export const TRY_MANY_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local last = tonumber(redis.call('GET', KEYS[1]) or '0')
local fence = now
if last >= now then fence = last + 1 end
local issued = false
local out = {}
for i = 2, #KEYS do
  local fs = string.format('%.0f', fence)
  if redis.call('SET', KEYS[i], ARGV[2 * i - 3] .. '|' .. fs, 'NX', 'PX', ARGV[2 * i - 2]) then
    out[i - 1] = fs
    fence = fence + 1
    issued = true
  else
    out[i - 1] = redis.call('PTTL', KEYS[i])
  end
end
if issued then redis.call('SET', KEYS[1], string.format('%.0f', fence - 1), 'PX', 3600000) end
return out
`;

/**
 * The uncontended part of {@link RELEASE_SCRIPT} for several locks in one call (see
 * {@link TRY_MANY_SCRIPT}). KEYS: the locks. ARGV: `token|fence` per lock.
 * Returns per lock 1 (released), 0 (not held by this token) or 2 (marked as queued behind: the
 * caller releases that lock with {@link RELEASE_SCRIPT}, which hands it on).
 */
export const RELEASE_MANY_SCRIPT = `
local out = {}
for i = 1, #KEYS do
  local cur = redis.call('GET', KEYS[i])
  if cur == ARGV[i] then
    redis.call('DEL', KEYS[i])
    out[i] = 1
  elseif cur == ARGV[i] .. '|q' then
    out[i] = 2
  else
    out[i] = 0
  end
end
return out
`;
