import type { OutgoingRecord } from '../kafka/message-transport.js';

/** An outbox row the relay is to send. @internal */
export interface OutboxRow extends OutgoingRecord {
  readonly n: string;
  readonly id: string;
  readonly topic: string;
}

/** What `publishInTransaction` writes through: TypeORM's EntityManager, by the one method used. @publicApi */
export interface OutboxEntityManager {
  query(sql: string, parameters?: unknown[]): Promise<unknown>;
}
