/** Handle returned by an event subscription. @publicApi */
export interface Disposable {
  dispose(): void;
}

/** Subscribes a listener to a typed event. @publicApi */
export type KeelEvent<T> = (listener: (event: T) => void) => Disposable;

/**
 * A minimal typed event source. Emitting with no listener costs one length check, so policies can
 * emit on their hot paths. A throwing listener never breaks the call that emitted.
 * @internal
 */
export class EventSource<T> {
  private listeners: ((event: T) => void)[] = [];

  readonly subscribe: KeelEvent<T> = (listener) => {
    this.listeners = [...this.listeners, listener];
    return {
      dispose: () => {
        this.listeners = this.listeners.filter((l) => l !== listener);
      },
    };
  };

  get hasListeners(): boolean {
    return this.listeners.length > 0;
  }

  emit(event: T): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        // A listener's bug must not change the outcome of the call being observed.
      }
    }
  }
}
