import {
  Inject,
  Injectable,
  Logger,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import type { MessagingSettings } from '../interfaces/messaging-options.interface.js';
import { MESSAGING_SETTINGS } from '../messaging.constants.js';
import { idempotencyStoreLine, inboxPruneFailed } from '../messaging.messages.js';
import { IdempotencyStore } from '../stores/idempotency.store.js';
import type { PostgresInboxStore } from '../stores/postgres-inbox.store.js';

/**
 * Opens the idempotency store at startup (the inbox creates its table), deletes expired keys
 * every `idempotency.pruneIntervalMs`, and closes the store at shutdown.
 * @internal
 */
@Injectable()
export class IdempotencyLifecycle
  implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown
{
  private readonly logger = new Logger('KeelMessaging');
  private timer: NodeJS.Timeout | undefined;

  constructor(
    @Inject(MESSAGING_SETTINGS) private readonly settings: MessagingSettings,
    @Inject(IdempotencyStore) private readonly store: IdempotencyStore,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.logger.log(idempotencyStoreLine({ store: this.store.kind }));
    if (this.store.kind === 'postgres') {
      // PostgreSQL down at startup must not stop the service: the first @Idempotent call opens it.
      await (this.store as PostgresInboxStore).init().catch((error: unknown) => this.warn(error));
    }
    this.timer = setInterval(
      () => void this.store.prune().catch((error: unknown) => this.warn(error)),
      this.settings.idempotency.pruneIntervalMs,
    );
    this.timer.unref();
  }

  beforeApplicationShutdown(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  async onApplicationShutdown(): Promise<void> {
    await this.store.close();
  }

  private warn(error: unknown): void {
    this.logger.warn(
      inboxPruneFailed({ error: error instanceof Error ? error.message : String(error) }),
    );
  }
}
