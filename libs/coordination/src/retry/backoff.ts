import type { BackoffKind } from '../interfaces/coordination-options.interface.js';

/** Backoff settings with defaults applied. @internal */
export interface BackoffSettings {
  readonly kind: BackoffKind;
  readonly delayMs: number;
  readonly maxDelayMs: number;
  readonly factor: number;
}

/**
 * Delay before the retry that follows failed attempt `step.attempt` (1-based). `step.previous` is
 * the last delay, which decorrelated jitter grows from (AWS Architecture Blog, "Exponential Backoff And
 * Jitter"): `min(cap, random(base, previous × 3))`. Every delay is within `[0, maxDelayMs]`.
 * @internal
 */
export function nextDelay(
  settings: BackoffSettings,
  step: { readonly attempt: number; readonly previous: number },
  random: () => number = Math.random,
): number {
  const { attempt, previous } = step;
  const { kind, delayMs, maxDelayMs, factor } = settings;
  let delay: number;
  if (kind === 'constant') delay = delayMs;
  else if (kind === 'exponential') delay = delayMs * factor ** (attempt - 1);
  else {
    const upper = Math.max(delayMs, previous * 3);
    delay = delayMs + random() * (upper - delayMs);
  }
  return Math.round(Math.min(maxDelayMs, Math.max(0, delay)));
}
