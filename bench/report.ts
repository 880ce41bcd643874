/**
 * Shared benchmark reporting: medians over interleaved rounds, a readable table, and one JSON
 * line per headline metric in the format DESIGN.md fixes; and the measuring helpers every
 * suite uses the same way (sequential timed calls, rotated subject order, Redis commands per
 * call, peer versions).
 */
import { readFileSync } from 'node:fs';

/** Median of a list of numbers (NaN when empty). */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** The p-th percentile (0–100) by nearest rank. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

/** Prints a table: one row per subject, one column per measure. */
export function printTable(
  title: string,
  columns: readonly string[],
  rows: readonly (readonly [string, ...(string | number)[]])[],
): void {
  const cells = rows.map((row) =>
    row.map((cell) => (typeof cell === 'number' ? format(cell) : cell)),
  );
  const header = ['', ...columns];
  const widths = header.map((h, i) =>
    Math.max(h.length, ...cells.map((r) => String(r[i] ?? '').length)),
  );
  const line = (r: readonly string[]) =>
    r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  console.log(`\n${title}`);
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of cells) console.log(line(row as string[]));
}

function format(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (Math.abs(n) >= 100) return Math.round(n).toLocaleString('en-US');
  return n.toFixed(Math.abs(n) >= 10 ? 1 : 2);
}

/** Prints one headline metric as the JSON line DESIGN.md specifies. */
export function reportMetric(
  suite: string,
  metric: string,
  unit: string,
  keel: number,
  peers: Readonly<Record<string, number>>,
): void {
  const ratios: Record<string, number> = {};
  for (const [peer, value] of Object.entries(peers)) {
    ratios[peer] = value === 0 ? Number.NaN : round(keel / value);
  }
  const roundedPeers = Object.fromEntries(Object.entries(peers).map(([k, v]) => [k, round(v)]));
  console.log(
    JSON.stringify({ suite, metric, unit, keel: round(keel), peers: roundedPeers, ratios }),
  );
}

function round(n: number): number {
  return Number.isFinite(n) ? Number(n.toPrecision(4)) : n;
}

/** Describes the machine, for the README's performance section. */
export function machineInfo(): string {
  return `${process.platform}/${process.arch}, Node ${process.version}`;
}

/** Wall and CPU (user + system, the whole process) ns per call of `calls` sequential awaited calls. */
export async function timeCalls(
  fn: () => Promise<unknown>,
  calls: number,
): Promise<{ ns: number; cpuNs: number }> {
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) await fn();
  const ns = Number(process.hrtime.bigint() - start) / calls;
  const used = process.cpuUsage(cpu);
  return { ns, cpuNs: ((used.user + used.system) * 1_000) / calls };
}

/** `items` started at `by`: each round runs the subjects in a shifted order. */
export function rotate<T>(items: readonly T[], by: number): T[] {
  return items.map((_, i) => items[(i + by) % items.length]);
}

/** Commands per call, by name, between two `INFO commandstats` readings. */
export function commandsPerCall(
  before: ReadonlyMap<string, number>,
  after: ReadonlyMap<string, number>,
  calls: number,
): Map<string, number> {
  const delta = new Map<string, number>();
  for (const [name, count] of after) {
    const added = count - (before.get(name) ?? 0);
    if (added > 0) delta.set(name, added / calls);
  }
  return delta;
}

/** The installed version of `pkg` (for the peers' labels), `?` when unknown. */
export function version(pkg: string): string {
  try {
    return (
      JSON.parse(readFileSync(`node_modules/${pkg}/package.json`, 'utf8')) as { version: string }
    ).version;
  } catch {
    return '?';
  }
}
