/**
 * Reads one sample from a Prometheus text exposition (what `/metrics` or `KeelMetrics.render()`
 * return), so a test asserts a metric's value rather than a substring that a neighbouring series
 * could also match.
 */

/** Labels a sample must carry; others (e.g. `service`) may be present too. */
export type SampleLabels = Readonly<Record<string, string>>;

function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  const pattern = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
  for (const match of text.matchAll(pattern)) {
    labels[match[1]] = match[2].replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
  }
  return labels;
}

/**
 * Every sample of `name` whose labels include `labels`, with its value.
 *
 * @example samples(text, 'keel_timeouts_total', { name: 'Work.slow' }) // [{ labels, value: 2 }]
 */
export function samples(
  exposition: string,
  name: string,
  labels: SampleLabels = {},
): { labels: Record<string, string>; value: number }[] {
  const found: { labels: Record<string, string>; value: number }[] = [];
  for (const line of exposition.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)/.exec(line);
    if (match === null || match[1] !== name) continue;
    const own = parseLabels(match[2] ?? '');
    if (Object.entries(labels).every(([key, value]) => own[key] === value)) {
      found.push({ labels: own, value: Number(match[3]) });
    }
  }
  return found;
}

/**
 * The value of the one sample of `name` with `labels`, or `undefined` when there is none.
 *
 * @throws Error when several samples match (the labels given do not pick one series).
 */
export function sampleValue(
  exposition: string,
  name: string,
  labels: SampleLabels = {},
): number | undefined {
  const found = samples(exposition, name, labels);
  if (found.length > 1) {
    throw new Error(
      `${found.length} samples of ${name} match ${JSON.stringify(labels)}: give more labels`,
    );
  }
  return found[0]?.value;
}
