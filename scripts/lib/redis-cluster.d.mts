// Types for redis-cluster.mjs, so test/support can import it from strict TypeScript.
export interface RedisClusterNode {
  readonly host: string;
  readonly port: number;
}
export function startRedisCluster(options?: {
  masters?: number;
}): Promise<{ readonly nodes: readonly RedisClusterNode[]; stop(): Promise<void> }>;
export function startSharedRedisCluster(file: string): { stop(): Promise<void> };
