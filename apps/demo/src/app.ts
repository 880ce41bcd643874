import { Logger, type INestApplication, type LoggerService, type LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { describeTarget, loadKeelConfig, type KeelConfig } from '@keel/core';
import { MessagingServer, type MessagingConsumerOptions } from '@keel/messaging';
import { DemoAppModule } from './app.module.js';
import { connectDatabase, describeDatabase } from './database.js';

/** Options of {@link createDemoApp}. */
export interface DemoAppOptions {
  /** Environment to configure from. @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Nest logger, or false for silence (tests). */
  readonly logger?: LoggerService | LogLevel[] | false;
  /** Consumer settings over the demo's (tests shorten the broker waits). */
  readonly consumer?: MessagingConsumerOptions;
}

/**
 * Builds the demo application from the environment: embedded defaults when nothing is set;
 * Redis, PostgreSQL and Kafka when `REDIS_URL`, `DATABASE_URL` and `KAFKA_BROKERS` are.
 * Invalid configuration throws a KeelConfigError listing every bad key; a database that cannot
 * be reached throws a DatabaseUnreachableError (one line) before Nest builds anything.
 */
export async function createDemoApp(
  options: DemoAppOptions = {},
): Promise<{ app: INestApplication; config: KeelConfig }> {
  const env = { KEEL_SERVICE_NAME: 'orders', ...(options.env ?? process.env) };
  const config = loadKeelConfig({ env });
  const dataSource =
    config.databaseUrl === undefined
      ? undefined
      : await connectDatabase(config.databaseUrl, config.serviceName);
  let app: INestApplication;
  try {
    app = await NestFactory.create(DemoAppModule.register(config, dataSource, options.consumer), {
      logger: options.logger,
      abortOnError: false,
    });
  } catch (error) {
    await dataSource?.destroy();
    throw error;
  }
  app.enableShutdownHooks();
  // Keel's transport serves the @EventPattern handlers, from Kafka or the embedded transport. A
  // hybrid app's microservice gets no global interceptors unless it inherits them; Keel's
  // request-context interceptor is one.
  app.connectMicroservice({ strategy: app.get(MessagingServer) }, { inheritAppConfig: true });
  return { app, config };
}

/** One line naming the backend of each concern, without credentials. */
export function describeBackends(config: KeelConfig): string {
  const redis = config.redisUrl ? `Redis ${describeTarget(config.redisUrl)}` : 'embedded memory';
  const database = config.databaseUrl
    ? `PostgreSQL ${describeDatabase(config.databaseUrl)}`
    : 'none (set DATABASE_URL)';
  const kafka = config.kafkaBrokers
    ? `Kafka ${config.kafkaBrokers.join(',')}`
    : 'in this process (set KAFKA_BROKERS for Kafka)';
  return `backends — locks/breakers/idempotency/registry: ${redis}; database: ${database}; events: ${kafka}`;
}

/** Starts the demo: HTTP on the configured port and the event consumer. */
export async function startDemo(
  options: DemoAppOptions = {},
): Promise<{ app: INestApplication; url: string }> {
  const { app, config } = await createDemoApp(options);
  await app.startAllMicroservices();
  await app.listen(config.port, '0.0.0.0');
  const url = `http://localhost:${config.port}`;
  new Logger('Demo').log(`${describeBackends(config)}`);
  new Logger('Demo').log(`orders service listening on ${url} (try ${url}/health/ready)`);
  return { app, url };
}
