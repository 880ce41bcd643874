// Types for probe.mjs, so test/support can import it from strict TypeScript.
export function tcpProbe(host: string, port: number, timeoutMs?: number): Promise<boolean>;
export function freePort(): Promise<number>;
export function portIsFree(port: number): Promise<boolean>;
export function redisPing(url: string, timeoutMs?: number): Promise<void>;
export function kafkaProbe(hostPort: string, timeoutMs?: number): Promise<void>;
export function pollUntil<T>(
  check: () => T | Promise<T>,
  options?: { timeoutMs?: number; intervalMs?: number; message?: string },
): Promise<T>;
