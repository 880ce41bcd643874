import { uuidV7 } from '@keel/core/internal';

/**
 * A new event id: a UUIDv7, so ids sort by creation time (keyset pages and the PostgreSQL
 * index stay append-mostly), monotonic within a millisecond.
 * @internal
 */
export function newEventId(): string {
  return uuidV7();
}
