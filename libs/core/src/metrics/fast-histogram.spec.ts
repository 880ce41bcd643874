import { describe, expect, it } from '@jest/globals';
import { Histogram, Registry } from 'prom-client';
import { FastHistogram } from './fast-histogram.js';

async function exposition(
  observe: (labels: { name: string; outcome: string }, value: number) => void,
  registry: Registry,
): Promise<string> {
  const samples: [string, string, number][] = [
    ['a', 'success', 0.001],
    ['a', 'success', 0.3],
    ['a', 'KEEL_TIMEOUT', 12],
    ['b', 'success', 0.005],
    ['b', 'success', 2.5],
  ];
  for (const [name, outcome, value] of samples) observe({ name, outcome }, value);
  return registry.metrics();
}

describe('FastHistogram', () => {
  it('exposes exactly what prom-client’s Histogram exposes for the same observations', async () => {
    const reference = new Registry();
    reference.setDefaultLabels({ service: 'orders' });
    const histogram = new Histogram({
      name: 'keel_x_seconds',
      help: 'x',
      labelNames: ['name', 'outcome'],
      registers: [reference],
    });
    const fastRegistry = new Registry();
    fastRegistry.setDefaultLabels({ service: 'orders' });
    const fast = new FastHistogram(
      { name: 'keel_x_seconds', help: 'x', labelNames: ['name', 'outcome'] },
      fastRegistry,
    );
    const expected = await exposition((labels, v) => histogram.observe(labels, v), reference);
    const actual = await exposition((labels, v) => fast.child(labels).observe(v), fastRegistry);
    expect(actual).toBe(expected);
  });

  it('resets with the registry', async () => {
    const registry = new Registry();
    const fast = new FastHistogram({ name: 'keel_y', help: 'y', labelNames: ['k'] }, registry);
    fast.observe({ k: 'v' }, 1);
    registry.resetMetrics();
    expect(await registry.metrics()).toContain('keel_y_count{k="v"} 0');
  });
});
