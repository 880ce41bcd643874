/**
 * The fencing rule, written once for every Lua script that grants a hold: the next fence is
 * `max(last + 1, now in µs)`. `SET … GET` writes and reads the counter in one command; only when
 * the clock has not moved past the last fence (same µs, or a clock step back) is a second write
 * needed. The counter outlives the last grant on its key by an hour; after that the clock alone
 * keeps tokens increasing (see the README on clock steps).
 *
 * Generated inline (not a Lua function) so the uncontended try script creates no closure per call.
 *
 * @param counterKey Lua expression of the counter key, e.g. `KEYS[2]`.
 * @param nowUs Lua expression of the current time in µs.
 * @param out name of the Lua local that receives the fence, as a string.
 * @internal
 */
export function nextFenceLua(counterKey: string, nowUs: string, out: string): string {
  return `local ${out}_now = ${nowUs}
local ${out} = string.format('%.0f', ${out}_now)
local ${out}_last = redis.call('SET', ${counterKey}, ${out}, 'PX', 3600000, 'GET')
if ${out}_last and tonumber(${out}_last) >= ${out}_now then
  ${out} = string.format('%.0f', tonumber(${out}_last) + 1)
  redis.call('SET', ${counterKey}, ${out}, 'PX', 3600000)
end`;
}
