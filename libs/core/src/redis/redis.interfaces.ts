import type { ClusterNode, ClusterOptions, RedisOptions } from 'ioredis';

/**
 * How to reach Redis: a URL (`redis://:password@host:6379/0`, `rediss://` for TLS), ioredis
 * options for a standalone server or a Sentinel group (`{ sentinels, name }`), or a Cluster.
 * @publicApi
 */
export type KeelRedisOptions =
  | string
  | RedisOptions
  | { readonly cluster: readonly ClusterNode[]; readonly options?: ClusterOptions };
