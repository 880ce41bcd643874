/**
 * The fencing rule, written once for every Lua script that grants a hold: the next fence is
 * `max(last + 1, now in µs)`. `SET … GET` writes and reads the counter in one command; only when
 * the clock has not moved past the last fence (same µs, or a clock step back) is a second write
 * needed. The counter outlives the last grant by an hour; after that the clock alone keeps tokens
 * increasing (see the README on clock steps).
 *
 * The time is handled as a string of digits and compared as one (a shorter string is a smaller
 * number): Lua number formatting is the costliest part of a cold uncontended grant on Redis 7,
 * and this path formats only in the rare case of a counter ahead of the clock.
 *
 * Generated inline (not a Lua function) so the uncontended try script creates no closure per call.
 *
 * @param counterKey Lua expression of the counter key, e.g. `KEYS[2]`.
 * @param nowUs Lua expression of the current time in µs as a string of digits.
 * @param out name of the Lua local that receives the fence, as a string.
 * @internal
 */
export function nextFenceLua(counterKey: string, nowUs: string, out: string): string {
  return `local ${out} = ${nowUs}
local ${out}_last = redis.call('SET', ${counterKey}, ${out}, 'PX', 3600000, 'GET')
if ${out}_last and (#${out}_last > #${out} or (#${out}_last == #${out} and ${out}_last >= ${out})) then
  ${out} = string.format('%.0f', tonumber(${out}_last) + 1)
  redis.call('SET', ${counterKey}, ${out}, 'PX', 3600000)
end`;
}

/**
 * Lua expression turning a `TIME` reply (seconds, microseconds) into µs as a string of digits.
 * @internal
 */
export function timeUsLua(time: string): string {
  return `${time}[1] .. string.sub('00000' .. ${time}[2], -6)`;
}
