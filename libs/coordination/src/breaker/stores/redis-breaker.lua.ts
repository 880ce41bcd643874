// Lua scripts of the Redis breaker store. Every script touches only the two keys of one breaker,
// which share a {hash tag}, so each runs atomically on one Redis Cluster slot. Time comes from
// the server (TIME), so replicas with skewed clocks still agree on when an open period ends;
// replies carry *remaining* time for the same reason.

const PRELUDE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local h = redis.call('HMGET', KEYS[1], 'state', 'openUntil', 'probes', 'version', 'epoch', 'consec', 'successes', 'halfOpenAt')
local state = h[1] or 'closed'
local openUntil = tonumber(h[2] or '0')
local probes = tonumber(h[3] or '0')
local version = tonumber(h[4] or '0')
local epoch = h[5]
local consec = tonumber(h[6] or '0')
local successes = tonumber(h[7] or '0')
local halfOpenAt = tonumber(h[8] or '0')
local TTL = 86400000
local function snapshot()
  local remaining = 0
  if state == 'open' then remaining = math.max(0, openUntil - now) end
  return {state, remaining, probes, version, epoch}
end
local function publish(channel, name)
  local s = snapshot()
  redis.call('PUBLISH', channel, cjson.encode({name = name, state = s[1], remaining = s[2], probes = s[3], version = s[4], epoch = s[5]}))
end
local function save()
  redis.call('HSET', KEYS[1], 'state', state, 'openUntil', openUntil, 'probes', probes, 'version', version, 'epoch', epoch, 'consec', consec, 'successes', successes, 'halfOpenAt', halfOpenAt)
  redis.call('PEXPIRE', KEYS[1], TTL)
end
local function clearWindow()
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[1], 'wc', 0, 'wf', 0, 'ws', 0)
end
local function open(openMs)
  state = 'open'
  openUntil = now + openMs
  probes = 0
  successes = 0
  consec = 0
  version = version + 1
  clearWindow()
end
local function close()
  state = 'closed'
  probes = 0
  successes = 0
  consec = 0
  version = version + 1
  clearWindow()
end
`;

/** Epoch candidate is the last ARGV of every script: the first writer of a breaker sets it. */
const EPOCH = `
if not epoch then epoch = ARGV[#ARGV] end
`;

/**
 * KEYS: state, window. ARGV: calls, failures, slow, trailing, hadSuccess, windowType, windowSize,
 * minimumCalls, failureRate, slowRate, consecutive, openMs, channel, name, epoch.
 */
export const RECORD_SCRIPT = `${PRELUDE}${EPOCH}
if state ~= 'closed' then
  -- Outcomes of calls admitted before the breaker opened say nothing about the next period.
  save()
  return snapshot()
end
local calls, failures, slow = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
if ARGV[5] == '1' then consec = tonumber(ARGV[4]) else consec = consec + failures end
local size = tonumber(ARGV[7])
local wc, wf, ws = 0, 0, 0
if ARGV[6] == 'time' then
  local second = math.floor(now / 1000)
  if calls > 0 then redis.call('HINCRBY', KEYS[2], second .. ':c', calls) end
  if failures > 0 then redis.call('HINCRBY', KEYS[2], second .. ':f', failures) end
  if slow > 0 then redis.call('HINCRBY', KEYS[2], second .. ':s', slow) end
  local all = redis.call('HGETALL', KEYS[2])
  for i = 1, #all, 2 do
    local s, kind = string.match(all[i], '^(%d+):(%a)$')
    s = tonumber(s)
    if s == nil or s <= second - size then
      redis.call('HDEL', KEYS[2], all[i])
    elseif kind == 'c' then wc = wc + tonumber(all[i + 1])
    elseif kind == 'f' then wf = wf + tonumber(all[i + 1])
    else ws = ws + tonumber(all[i + 1]) end
  end
  redis.call('PEXPIRE', KEYS[2], (size + 1) * 1000)
else
  local tot = redis.call('HMGET', KEYS[1], 'wc', 'wf', 'ws')
  wc = tonumber(tot[1] or '0') + calls
  wf = tonumber(tot[2] or '0') + failures
  ws = tonumber(tot[3] or '0') + slow
  redis.call('RPUSH', KEYS[2], calls .. ':' .. failures .. ':' .. slow)
  -- Drop the oldest batches until the window holds at most 'size' calls; a batch straddling the
  -- edge is shrunk proportionally (exact in calls, approximate to one batch in failures).
  while wc > size do
    local head = redis.call('LINDEX', KEYS[2], 0)
    if not head then break end
    local hc, hf, hs = string.match(head, '^(%d+):(%d+):(%d+)$')
    hc, hf, hs = tonumber(hc), tonumber(hf), tonumber(hs)
    local excess = wc - size
    if hc <= excess then
      redis.call('LPOP', KEYS[2])
      wc, wf, ws = wc - hc, wf - hf, ws - hs
    else
      local keep = hc - excess
      local kf = math.floor(hf * keep / hc + 0.5)
      local ks = math.floor(hs * keep / hc + 0.5)
      redis.call('LSET', KEYS[2], 0, keep .. ':' .. kf .. ':' .. ks)
      wc, wf, ws = wc - excess, wf - (hf - kf), ws - (hs - ks)
    end
  end
  redis.call('HSET', KEYS[1], 'wc', wc, 'wf', wf, 'ws', ws)
  redis.call('PEXPIRE', KEYS[2], TTL)
end
local consecutive = tonumber(ARGV[11])
local trip = (consecutive > 0 and consec >= consecutive)
if not trip and wc >= tonumber(ARGV[8]) and wc > 0 then
  trip = (wf * 100 >= tonumber(ARGV[9]) * wc) or (ws * 100 >= tonumber(ARGV[10]) * wc)
end
if trip then
  open(tonumber(ARGV[12]))
  save()
  publish(ARGV[13], ARGV[14])
else
  save()
end
return snapshot()
`;

/** KEYS: state, window. ARGV: probes, openMs, probeTimeoutMs, channel, name, epoch. */
export const ACQUIRE_PROBE_SCRIPT = `${PRELUDE}${EPOCH}
if state == 'closed' then
  local s = snapshot()
  return {'call', s[1], s[2], s[3], s[4], s[5]}
end
if state == 'isolated' then
  local s = snapshot()
  return {'rejected', s[1], s[2], s[3], s[4], s[5]}
end
if state == 'open' then
  if now < openUntil then
    local s = snapshot()
    return {'rejected', s[1], s[2], s[3], s[4], s[5]}
  end
  state = 'half-open'
  probes = 0
  successes = 0
  halfOpenAt = now
  version = version + 1
  save()
  publish(ARGV[4], ARGV[5])
end
local permit = 'rejected'
if probes < tonumber(ARGV[1]) then
  probes = probes + 1
  permit = 'probe'
  save()
elseif now - halfOpenAt >= tonumber(ARGV[3]) then
  -- Probes that never reported (their replica died): end this half-open period.
  open(tonumber(ARGV[2]))
  save()
  publish(ARGV[4], ARGV[5])
end
local s = snapshot()
return {permit, s[1], s[2], s[3], s[4], s[5]}
`;

/** KEYS: state, window. ARGV: version, outcome, probes, openMs, channel, name, epoch. */
export const REPORT_PROBE_SCRIPT = `${PRELUDE}${EPOCH}
if state ~= 'half-open' or version ~= tonumber(ARGV[1]) then
  return snapshot()
end
if ARGV[2] == 'failure' then
  open(tonumber(ARGV[4]))
  save()
  publish(ARGV[5], ARGV[6])
elseif ARGV[2] == 'ignored' then
  probes = math.max(0, probes - 1)
  save()
else
  successes = successes + 1
  if successes >= tonumber(ARGV[3]) then
    close()
    save()
    publish(ARGV[5], ARGV[6])
  else
    save()
  end
end
return snapshot()
`;

/** KEYS: state, window. ARGV: action ('read' | 'isolate' | 'reset'), channel, name, epoch. */
export const CONTROL_SCRIPT = `${PRELUDE}${EPOCH}
if ARGV[1] == 'isolate' then
  state = 'isolated'
  version = version + 1
  save()
  publish(ARGV[2], ARGV[3])
elseif ARGV[1] == 'reset' then
  close()
  save()
  publish(ARGV[2], ARGV[3])
elseif h[5] == false then
  -- A read of a breaker nobody wrote: report the candidate epoch without creating keys.
  return snapshot()
end
return snapshot()
`;
