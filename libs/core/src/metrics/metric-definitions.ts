import type { CounterConfiguration, GaugeConfiguration } from 'prom-client';
import type { FastHistogramConfiguration } from './fast-histogram.js';

/**
 * A lib's metrics, declared once in `<lib>.metrics.ts` (name, help, labels, buckets) and
 * created from there (`metrics.counter(LOCKS_METRICS.timeouts)`), so that a metric's name and
 * meaning are written in one place and the README's metric table can be checked against it.
 * @internal
 */
export type KeelMetricDefinitions = Readonly<
  Record<
    string,
    | Readonly<Omit<CounterConfiguration<string>, 'registers' | 'collect'>>
    | Readonly<Omit<GaugeConfiguration<string>, 'registers' | 'collect'>>
    | Readonly<Omit<FastHistogramConfiguration<string>, 'collect'>>
  >
>;
