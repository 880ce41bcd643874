import type { EntityManager, EntityTarget, ObjectLiteral, Repository } from 'typeorm';
import { StaleFencingTokenError } from './locks.errors.js';

/** Options of {@link fencedUpdate}. @publicApi */
export interface FencedUpdateOptions {
  /** Column (entity property) holding the last fencing token written. @default 'fence' */
  readonly column?: string;
}

/**
 * Updates rows only if they were last written with a lower fencing token, and stamps them with
 * this one — a compare-and-set done by the database itself, so a former holder that was paused
 * (GC, SIGSTOP, a partition) and resumes after its lock passed on cannot overwrite newer data:
 *
 * ```sql
 * UPDATE <table> SET ..., fence = :token WHERE <criteria> AND (fence IS NULL OR fence < :token)
 * ```
 *
 * The column must be a `bigint` (tokens exceed 2^31). Strictly greater, not equal: the same
 * holder writing twice needs no second stamp, so a repeated write with the same token is
 * rejected too — write once per hold, or compare with `<=` yourself.
 *
 * @returns the number of rows updated (at least 1).
 * @throws StaleFencingTokenError when no row matched because a newer token already wrote.
 * @example
 * ```ts
 * await locks.using(`account:${id}`, async (lock) => {
 *   await fencedUpdate(dataSource.manager, Account, { id }, { balance }, lock.fencingToken);
 * });
 * ```
 * @publicApi
 */
export async function fencedUpdate<E extends ObjectLiteral>(
  target: EntityManager | Repository<E>,
  entity: EntityTarget<E>,
  criteria: Readonly<Record<string, unknown>>,
  values: Readonly<Record<string, unknown>>,
  fencingToken: number,
  options: FencedUpdateOptions = {},
): Promise<number> {
  const column = options.column ?? 'fence';
  const builder =
    'manager' in target && typeof (target as Repository<E>).metadata === 'object'
      ? (target as Repository<E>).createQueryBuilder().update()
      : (target as EntityManager).createQueryBuilder().update(entity);
  const result = await builder
    .set({ ...values, [column]: fencingToken } as never)
    .where(criteria as never)
    .andWhere(`(${quoteIdentifier(column)} IS NULL OR ${quoteIdentifier(column)} < :keelFence)`, {
      keelFence: fencingToken,
    })
    .execute();
  const affected = result.affected ?? 0;
  if (affected === 0) throw new StaleFencingTokenError(describeEntity(entity), fencingToken);
  return affected;
}

function quoteIdentifier(column: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(column)) {
    throw new TypeError(`fence column '${column}' is not a plain identifier`);
  }
  return `"${column}"`;
}

function describeEntity(entity: EntityTarget<ObjectLiteral>): string {
  if (typeof entity === 'string') return entity;
  if (typeof entity === 'function') return entity.name;
  return 'name' in entity && typeof entity.name === 'string' ? entity.name : 'entity';
}
