import { metricNamePrefix } from '../core.messages.js';
import type { KeelMetricsOptions } from '../interfaces/core-options.interface.js';
import { KeelArgumentError } from '../core.errors.js';
import { FastHistogram, type FastHistogramConfiguration } from './fast-histogram.js';
import {
  Counter,
  Gauge,
  Histogram,
  Registry,
  collectDefaultMetrics,
  type CounterConfiguration,
  type GaugeConfiguration,
  type HistogramConfiguration,
} from 'prom-client';

// Declared with the module's other options, where their @defaults are checked.
export type { KeelMetricsOptions };

const PREFIX = 'keel_';
const PROCESS_PREFIX = `${PREFIX}process_`;

/**
 * prom-client's default gauges whose names end in `_total`, a suffix Prometheus reserves for
 * counters (`promtool check metrics` rejects them; prometheus/client_js#283, kept upstream only
 * for compatibility). Each is the sum, over the `type` label, of the gauge of the same name
 * without `_total`, which stays: `sum without (type) (keel_process_nodejs_active_handles)`.
 */
const NON_COUNTER_TOTALS = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

/**
 * Keel's one Prometheus registry, per application (two applications in one process keep
 * separate metrics). Metric names must start with `keel_`; asking twice for the same name returns
 * the same metric, so several policies can share one.
 *
 * @example
 * ```ts
 * const held = metrics.gauge({ name: 'keel_locks_held', help: 'Locks held by this instance' });
 * ```
 * @publicApi
 */
export class KeelMetrics {
  /** The prom-client registry, for `/metrics` or merging into an application registry. */
  readonly registry = new Registry();

  constructor(options: KeelMetricsOptions = {}) {
    if (options.defaultLabels) this.registry.setDefaultLabels({ ...options.defaultLabels });
    if (options.defaultMetrics) {
      collectDefaultMetrics({ register: this.registry, prefix: PROCESS_PREFIX });
      for (const name of NON_COUNTER_TOTALS) {
        this.registry.removeSingleMetric(`${PROCESS_PREFIX}${name}`);
      }
    }
  }

  /** Returns the histogram of that name, creating it the first time. */
  histogram<L extends string>(config: HistogramConfiguration<L>): Histogram<L> {
    return this.getOrCreate(
      config.name,
      () => new Histogram({ ...config, registers: [this.registry] }),
    );
  }

  /**
   * Returns the hot-path histogram of that name, creating it the first time: same exposition
   * as {@link histogram}, a fraction of the cost per observation (see {@link FastHistogram}).
   */
  fastHistogram<L extends string>(config: FastHistogramConfiguration<L>): FastHistogram<L> {
    return this.getOrCreate(config.name, () => new FastHistogram(config, this.registry));
  }

  /** Returns the counter of that name, creating it the first time. */
  counter<L extends string>(config: CounterConfiguration<L>): Counter<L> {
    return this.getOrCreate(
      config.name,
      () => new Counter({ ...config, registers: [this.registry] }),
    );
  }

  /** Returns the gauge of that name, creating it the first time. */
  gauge<L extends string>(config: GaugeConfiguration<L>): Gauge<L> {
    return this.getOrCreate(
      config.name,
      () => new Gauge({ ...config, registers: [this.registry] }),
    );
  }

  /** The metrics in Prometheus text exposition format. */
  async render(): Promise<string> {
    return this.registry.metrics();
  }

  /** Content type of {@link render}'s output. */
  get contentType(): string {
    return this.registry.contentType;
  }

  private getOrCreate<M>(name: string, create: () => M): M {
    if (!name.startsWith(PREFIX)) {
      throw new KeelArgumentError(metricNamePrefix({ prefix: PREFIX, name }));
    }
    return (this.registry.getSingleMetric(name) as M | undefined) ?? create();
  }
}
