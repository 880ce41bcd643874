/**
 * A NestJS 12 application that uses Keel as an application outside this repository would: it is
 * copied into a temporary directory, given the packed @keel/* tarballs and Nest from the npm
 * registry, compiled with `skipLibCheck: false` and run by test/pack-install.spec.ts. It prints
 * one JSON line with what it saw, then exits.
 *
 * `node dist/main.js` boots the full application (Redis at REDIS_URL, keys under
 * KEEL_REDIS_KEY_PREFIX); `node dist/main.js dto` boots one whose method validates a DTO class,
 * which must fail at startup because class-validator is not installed.
 */
import { Controller, Get, Injectable, Module, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { InjectKeelCoreSettings, KeelCoreModule, type KeelCoreSettings } from '@keel/core';
import { CoordinationModule, Retry, Validate } from '@keel/coordination';
import { HealthModule } from '@keel/health';
import { LocksModule, WithLock, currentLock } from '@keel/locks';
import { RegistrationService, RegistryModule, ServiceDiscovery } from '@keel/registry';
import { AuditModule } from '@keel/audit';
import { MessagingModule } from '@keel/messaging';

@Injectable()
export class JobsService {
  attempts = 0;

  constructor(@InjectKeelCoreSettings() readonly settings: KeelCoreSettings) {}

  /** Fails twice, then succeeds: @Retry must hide both failures. */
  @Retry({ maxAttempts: 3, backoff: 'constant', delayMs: 1 })
  async flaky(): Promise<number> {
    this.attempts += 1;
    if (this.attempts < 3) throw new Error(`attempt ${this.attempts} fails`);
    return this.attempts;
  }

  /** Runs under a fenced lock on `job:<id>`. */
  @WithLock('job:{jobId}')
  async exclusive(jobId: string): Promise<{ jobId: string; key?: string; fencingToken?: number }> {
    const lock = currentLock();
    return { jobId, key: lock?.key, fencingToken: lock?.fencingToken };
  }
}

@Controller('jobs')
export class JobsController {
  constructor(private readonly jobs: JobsService) {}

  @Get('retry')
  retry(): Promise<number> {
    return this.jobs.flaky();
  }
}

const serviceName = `pack-consumer-${process.pid}`;

@Module({
  imports: [
    KeelCoreModule.forRoot({ serviceName }),
    CoordinationModule.forRoot({}),
    LocksModule.forRoot({}),
    RegistryModule.forRoot({ service: { version: '1.0.0' }, drainMs: 0 }),
    HealthModule.forRoot(),
    // The embedded file store: this application installs no pg (an optional peer).
    AuditModule.forRoot({ store: { type: 'file', directory: '.keel/audit' } }),
    MessagingModule.forRoot({}),
  ],
  controllers: [JobsController],
  providers: [JobsService],
})
export class AppModule {}

class CreateJobDto {
  name!: string;
}

@Injectable()
export class DtoService {
  @Validate()
  create(dto: CreateJobDto): string {
    return dto.name;
  }
}

@Module({
  imports: [KeelCoreModule.forRoot({}), CoordinationModule.forRoot({})],
  providers: [DtoService],
})
export class DtoModule {}

async function full(): Promise<Record<string, unknown>> {
  const app: INestApplication = await NestFactory.create(AppModule, { logger: ['error'] });
  try {
    await app.listen(0, '127.0.0.1');
    const jobs = app.get(JobsService);
    const retried = await jobs.flaky();
    const locked = await jobs.exclusive('42');

    const registration = app.get(RegistrationService);
    await registration.registeredOnce();
    const discovery = app.get(ServiceDiscovery);
    await discovery.refresh(serviceName);
    const instanceId = registration.state().instanceId;
    const discovered = discovery.instances(serviceName).map((instance) => instance.id);

    const base = await app.getUrl();
    const ready = await fetch(`${base}/health/ready`);
    const readyBody = (await ready.json()) as { info?: Record<string, unknown> };
    return {
      serviceName: jobs.settings.serviceName,
      redis: jobs.settings.redis !== undefined,
      retried,
      attempts: jobs.attempts,
      locked,
      instanceId,
      discovered,
      ready: ready.status,
      readyChecks: Object.keys(readyBody.info ?? {}).sort(),
      metrics: (await fetch(`${base}/metrics`)).status,
    };
  } finally {
    await app.close();
  }
}

async function dto(): Promise<Record<string, unknown>> {
  try {
    const app = await NestFactory.createApplicationContext(DtoModule, { logger: false });
    await app.close();
    return { booted: true };
  } catch (error) {
    return { booted: false, error: `${(error as Error).name}: ${(error as Error).message}` };
  }
}

const result = await (process.argv[2] === 'dto' ? dto() : full());
process.stdout.write(`${JSON.stringify(result)}\n`);
