/**
 * Engine overhead: a no-op async provider method called directly, through a Keel trampoline
 * with `@Timed()`, measured in interleaved rounds in one process.
 */
import 'reflect-metadata';
import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { KeelCoreModule, Timed, loadKeelConfig } from '@keel/core';
import { median, printTable, reportMetric } from './report.js';

@Injectable()
class Subject {
  async plain(value: number): Promise<number> {
    return value;
  }

  @Timed()
  async timed(value: number): Promise<number> {
    return value;
  }
}

@Module({
  imports: [KeelCoreModule.forRoot({ config: loadKeelConfig({ env: {} }) })],
  providers: [Subject],
})
class BenchModule {}

async function measure(fn: (i: number) => Promise<number>, calls: number): Promise<number> {
  const start = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) await fn(i);
  return Number(process.hrtime.bigint() - start) / calls;
}

export async function run(): Promise<void> {
  const app = await NestFactory.createApplicationContext(BenchModule, { logger: false });
  const subject = app.get(Subject);
  const calls = 200_000;
  const rounds = 7;
  const plain: number[] = [];
  const timed: number[] = [];
  for (let r = 0; r < rounds + 1; r++) {
    const p = await measure((i) => subject.plain(i), calls);
    const t = await measure((i) => subject.timed(i), calls);
    if (r === 0) continue; // warm-up
    plain.push(p);
    timed.push(t);
  }
  await app.close();
  const base = median(plain);
  const withTimed = median(timed);
  printTable(
    `engine overhead, ${rounds} rounds × ${calls} calls (median ns per call)`,
    ['ns/call', 'overhead ns'],
    [
      ['no policy (direct call)', base, 0],
      ['@Timed() through the trampoline', withTimed, withTimed - base],
    ],
  );
  reportMetric('core', 'timed_overhead_per_call', 'ns', withTimed - base, {});
}
