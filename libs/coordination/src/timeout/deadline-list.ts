/**
 * One call under `@Timeout`. Linked into its method's list while pending. The AbortController is
 * created only if the method asks for the signal.
 * @internal
 */
export class PendingCall {
  prev: PendingCall | null = null;
  next: PendingCall | null = null;
  resolve: ((value: unknown) => void) | null = null;
  reject: ((error: unknown) => void) | null = null;
  controller: AbortController | null = null;
  linked = false;

  constructor(readonly deadline: number) {}

  /** The call's signal, created on first request. */
  signal(): AbortSignal {
    this.controller ??= new AbortController();
    return this.controller.signal;
  }
}

// The promise executor runs synchronously inside `new Promise`, so one shared executor can hand
// the resolvers to the call being raced: no executor closure per call.
let capturing: PendingCall | undefined;
function captureResolvers(
  resolve: (value: unknown) => void,
  reject: (error: unknown) => void,
): void {
  capturing!.resolve = resolve;
  capturing!.reject = reject;
  capturing = undefined;
}

/**
 * The pending calls of one `@Timeout` method (or one cache's shared-tier commands), oldest first. All share one timeout, so deadlines
 * are in insertion order and one timer armed for the oldest deadline serves the whole list —
 * instead of one `setTimeout`/`clearTimeout` pair per call. A settled call unlinks itself in O(1).
 * The timer is unref'd, re-armed only while calls are pending, and cleared by {@link close}.
 * @internal
 */
export class DeadlineList {
  private head: PendingCall | null = null;
  private tail: PendingCall | null = null;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  /**
   * @param ms - how long each call may take (every call's deadline is `ms` after it starts).
   * @param timeoutError - what a late call rejects with.
   * @param onTimeout - told of each late call (a metric).
   */
  constructor(
    readonly ms: number,
    private readonly timeoutError: () => Error,
    private readonly onTimeout: () => void = () => undefined,
  ) {}

  /** Races `promise` against the call's deadline. */
  race(call: PendingCall, promise: PromiseLike<unknown>): Promise<unknown> {
    capturing = call;
    const raced = new Promise(captureResolvers);
    this.link(call);
    promise.then(
      (value) => {
        const resolve = call.resolve;
        this.unlink(call);
        resolve?.(value);
      },
      (error: unknown) => {
        const reject = call.reject;
        this.unlink(call);
        reject?.(error);
      },
    );
    return raced;
  }

  /** Number of pending calls (tests). */
  get size(): number {
    let n = 0;
    for (let c = this.head; c !== null; c = c.next) n++;
    return n;
  }

  /** Stops the timer; pending calls are left to settle on their own. */
  close(): void {
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private link(call: PendingCall): void {
    call.linked = true;
    call.prev = this.tail;
    if (this.tail === null) this.head = call;
    else this.tail.next = call;
    this.tail = call;
    if (this.timer === undefined && !this.closed) this.arm(call.deadline - Date.now());
  }

  private unlink(call: PendingCall): void {
    if (!call.linked) return;
    call.linked = false;
    if (call.prev === null) this.head = call.next;
    else call.prev.next = call.next;
    if (call.next === null) this.tail = call.prev;
    else call.next.prev = call.prev;
    call.prev = call.next = null;
    call.resolve = call.reject = null;
  }

  private arm(delay: number): void {
    this.timer = setTimeout(this.fire, Math.max(0, delay));
    this.timer.unref();
  }

  private readonly fire = (): void => {
    this.timer = undefined;
    const now = Date.now();
    while (this.head !== null && this.head.deadline <= now) {
      const call = this.head;
      const reject = call.reject;
      this.unlink(call);
      const error = this.timeoutError();
      this.onTimeout();
      call.controller?.abort(error);
      reject?.(error);
    }
    // The list empties between calls on a quiet method: the timer then simply is not re-armed.
    if (this.head !== null && !this.closed) this.arm(this.head.deadline - now);
  };
}
