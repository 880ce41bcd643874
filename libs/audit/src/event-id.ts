import { v7 } from 'uuid';

/**
 * A new event id: a UUIDv7, so ids sort by creation time (keyset pages and the PostgreSQL
 * index stay append-mostly). Node 20's crypto has no v7, hence the `uuid` package.
 * @internal
 */
export function newEventId(): string {
  return v7();
}
