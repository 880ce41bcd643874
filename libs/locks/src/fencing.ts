import type {
  EntityManager,
  EntityTarget,
  ObjectLiteral,
  Repository,
  SelectQueryBuilder,
  UpdateQueryBuilder,
} from 'typeorm';
import { KeelArgumentError } from '@keel/core';
import { FencedRowNotFoundError, StaleFencingTokenError } from './locks.errors.js';
import { fenceColumnMissing } from './locks.messages.js';

/**
 * A TypeORM `EntityManager` or `Repository`, described by the one method {@link fencedUpdate}
 * starts from. Typed by shape so that @keel/locks' declarations never import `typeorm` (an
 * optional peer): an application that does not use TypeORM compiles against @keel/locks without
 * it, with `skipLibCheck` off.
 * @publicApi
 */
export interface FencedUpdateTarget {
  createQueryBuilder(...args: never[]): unknown;
}

/**
 * What TypeORM accepts as an `EntityTarget`: the entity class, its name, or an `EntitySchema`.
 * @publicApi
 */
export type FencedEntity = string | object;

/** Options of {@link fencedUpdate}. @publicApi */
export interface FencedUpdateOptions {
  /**
   * Entity property of the column holding the last fencing token written (a `bigint` column; its
   * database name may differ).
   * @default 'fence'
   */
  readonly column?: string;
}

/**
 * Updates rows only if they were last written with a lower fencing token, and stamps them with
 * this one — a compare-and-set done by the database itself, so a former holder that was paused
 * (GC, SIGSTOP, a partition) and resumes after its lock passed on cannot overwrite newer data:
 *
 * ```sql
 * UPDATE <table> SET ..., <fence> = :token WHERE <criteria> AND (<fence> IS NULL OR <fence> < :token)
 * ```
 *
 * The fence column is named through the driver's identifier escaping (`"fence"` on PostgreSQL,
 * `` `fence` `` on MySQL and MariaDB, where a double-quoted name is a string literal and the
 * condition would always hold). Tested on PostgreSQL and MariaDB.
 *
 * The column must be a `bigint` (tokens exceed 2^31). Strictly greater, not equal: the same
 * holder writing twice needs no second stamp, so a repeated write with the same token is
 * rejected too — write once per hold, or compare with `<=` yourself.
 *
 * When no row was updated, a second read tells why: rows match the criteria (so they carry an
 * equal or newer token: `StaleFencingTokenError`), or none does (`FencedRowNotFoundError`).
 *
 * @returns the number of rows updated (at least 1).
 * @throws StaleFencingTokenError when rows match but a newer (or the same) token already wrote.
 * @throws FencedRowNotFoundError when no row matches the criteria at all.
 * @throws KeelArgumentError when `column` is not a column of the entity.
 * @example
 * ```ts
 * await locks.using(`account:${id}`, async (lock) => {
 *   await fencedUpdate(dataSource.manager, Account, { id }, { balance }, lock.fencingToken);
 * });
 * ```
 * @publicApi
 */
export async function fencedUpdate(
  manager: FencedUpdateTarget,
  entityTarget: FencedEntity,
  criteria: Readonly<Record<string, unknown>>,
  values: Readonly<Record<string, unknown>>,
  fencingToken: number,
  options: FencedUpdateOptions = {},
): Promise<number> {
  type E = ObjectLiteral;
  const target = manager as EntityManager | Repository<E>;
  const entity = entityTarget as EntityTarget<E>;
  const property = options.column ?? 'fence';
  const repository = isRepository(target) ? target : undefined;
  const builder: UpdateQueryBuilder<E> = repository
    ? repository.createQueryBuilder().update()
    : (target as EntityManager).createQueryBuilder().update(entity);
  const metadata = repository
    ? repository.metadata
    : (target as EntityManager).dataSource.getMetadata(entity);
  const column = metadata.findColumnWithPropertyPath(property);
  if (column === undefined) {
    throw new KeelArgumentError(
      fenceColumnMissing({
        property,
        entity: metadata.name,
        columns: metadata.columns.map((c) => c.propertyPath),
      }),
    );
  }
  const fence = builder.escape(column.databaseName);
  const result = await builder
    .set({ ...values, [property]: fencingToken } as never)
    .where(criteria as never)
    .andWhere(`(${fence} IS NULL OR ${fence} < :keelFence)`, { keelFence: fencingToken })
    .execute();
  // MySQL and MariaDB count changed rather than matched rows; every matched row changes here,
  // since its fence moves to a strictly greater token.
  const affected = result.affected ?? 0;
  if (affected > 0) return affected;
  const select: SelectQueryBuilder<E> = repository
    ? repository.createQueryBuilder('row')
    : (target as EntityManager).createQueryBuilder(entity, 'row');
  if (await select.where(criteria as never).getExists()) {
    throw new StaleFencingTokenError(metadata.name, fencingToken);
  }
  throw new FencedRowNotFoundError(metadata.name, describeCriteria(criteria), fencingToken);
}

function isRepository<E extends ObjectLiteral>(
  target: EntityManager | Repository<E>,
): target is Repository<E> {
  return 'manager' in target && typeof (target as Repository<E>).metadata === 'object';
}

function describeCriteria(criteria: Readonly<Record<string, unknown>>): string {
  return JSON.stringify(criteria, (_key, value: unknown) =>
    typeof value === 'bigint' ? value.toString() : value,
  );
}
