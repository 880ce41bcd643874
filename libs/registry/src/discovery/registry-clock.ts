/**
 * Discovery's view of the registry's clock and of its recovery window, shared by the cache
 * (expiry timers, propagation times, what a resync may remove) and the sync (which measures the
 * clock offset at every full read and opens the window after a reconnect).
 * @internal
 */
export class RegistryClock {
  /** Store clock minus local clock, measured at every full read. */
  offsetMs = 0;
  /** Until this local time, resyncs add and update but remove nothing. */
  recoveringUntil = 0;

  /** The registry clock, estimated from the last full read. */
  now(): number {
    return Date.now() + this.offsetMs;
  }

  /** True while the recovery window after a reconnect is open. */
  recovering(at: number = Date.now()): boolean {
    return at < this.recoveringUntil;
  }
}
