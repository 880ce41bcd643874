export { LocksModule } from './locks.module.js';
export {
  LockService,
  type LockGroup,
  type LockHandle,
  type ReadWriteLock,
  type Semaphore,
} from './lock.service.js';
export type { Lock } from './lock.js';
export { currentLock } from './lock-context.js';
export { WithLock, type WithLockOptions } from './with-lock.decorator.js';
export {
  fencedUpdate,
  type FencedEntity,
  type FencedUpdateOptions,
  type FencedUpdateTarget,
} from './fencing.js';
export { LocksHealthIndicator } from './locks.health.js';
export {
  LOCKS_ERRORS,
  LocksError,
  type LocksErrorCode,
  LockTimeoutError,
  isLockTimeoutError,
  DeadlockError,
  isDeadlockError,
  LockLostError,
  isLockLostError,
  LockQuorumError,
  isLockQuorumError,
  StaleFencingTokenError,
  isStaleFencingTokenError,
  InvalidLockKeyError,
  isInvalidLockKeyError,
  FencedRowNotFoundError,
  isFencedRowNotFoundError,
  type DeadlockEdge,
  type LockLostReason,
} from './locks.errors.js';
export type {
  AcquireOptions,
  LocksModuleOptions,
  LockStoreOption,
  QuorumStoreOptions,
} from './interfaces/locks-options.interface.js';
export {
  LockStore,
  InjectLockStore,
  type SemaphoreStore,
  type StoreAcquireMode,
  type StoreAcquireResult,
  type WaiterEvent,
} from './stores/lock.store.js';
export { MemoryLockStore } from './stores/memory-lock.store.js';
export { RedisLockStore, type RedisLockStoreOptions } from './stores/redis-lock.store.js';
export {
  QuorumLockStore,
  type QuorumLockStoreOptions,
  type QuorumNode,
} from './stores/quorum-lock.store.js';
