import {
  Controller,
  Get,
  Inject,
  Injectable,
  Optional,
  Param,
  Query,
  Res,
  StreamableFile,
  UseGuards,
  type CanActivate,
  type ExecutionContext,
  type Type,
} from '@nestjs/common';
import { AuditError } from '../audit.errors.js';
import { invalidFilter } from '../audit.messages.js';
import { AuditIntegrityService } from '../chain/audit-integrity.service.js';
import type { AuditVerifyReport } from '../chain/audit-verifier.js';
import {
  AuditQueryService,
  type AuditExportFormat,
  type AuditPage,
} from '../query/audit-query.service.js';
import { AuditReportService } from '../reports/audit-report.service.js';
import type { AuditReportKind } from '../reports/audit-report.js';
import type { AuditReportFormat } from '../reports/report-render.js';
import type { AuditFilter } from '../stores/audit.store.js';

/**
 * The opt-in HTTP API: `AuditModule.forRoot({ http: { guard } })`.
 * @publicApi
 */
export interface AuditHttpOptions {
  /**
   * Decides who may read the trail (a Nest guard class, resolved by DI in AuditModule's scope,
   * so it may inject what AuditModule can see). Without one, every request is refused
   * (`KEEL_AUDIT_FORBIDDEN`, 403): the trail is never open by accident.
   */
  readonly guard?: Type<CanActivate>;
}

/** DI token of the user's guard. @internal */
export const AUDIT_HTTP_GUARD = Symbol('AUDIT_HTTP_GUARD');

/** Runs the user's guard, or refuses when none is configured. @internal */
@Injectable()
export class AuditHttpGuard implements CanActivate {
  constructor(@Optional() @Inject(AUDIT_HTTP_GUARD) private readonly guard?: CanActivate) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (this.guard === undefined) {
      throw new AuditError(
        'KEEL_AUDIT_FORBIDDEN',
        'the audit HTTP API has no guard: pass AuditModule.forRoot({ http: { guard } }) to decide who may read the trail',
      );
    }
    const allowed = await this.guard.canActivate(context);
    if (allowed === true) return true;
    if (allowed === false) {
      throw new AuditError('KEEL_AUDIT_FORBIDDEN', 'the audit HTTP guard refused this request');
    }
    // An Observable<boolean>: its first value decides.
    if (await firstValue(allowed as unknown as Subscribable)) return true;
    throw new AuditError('KEEL_AUDIT_FORBIDDEN', 'the audit HTTP guard refused this request');
  }
}

/** An Observable, typed by the one method used (rxjs is Nest's, not a dependency of ours). */
interface Subscribable {
  subscribe(observer: {
    next: (value: boolean) => void;
    error: (error: unknown) => void;
    complete: () => void;
  }): { unsubscribe(): void };
}

function firstValue(source: Subscribable): Promise<boolean> {
  return new Promise((resolve, reject) => {
    let done = false;
    const subscription = source.subscribe({
      next: (value) => {
        done = true;
        resolve(value);
      },
      error: reject,
      complete: () => resolve(false),
    });
    if (done) subscription.unsubscribe();
  });
}

/** Query-string values as Express parses them. */
type QueryValue = string | string[] | undefined;
type QueryParams = Readonly<Record<string, QueryValue>>;

/** Response headers the export and report routes set (Express and Fastify both have `header`). */
interface HeaderSink {
  setHeader?(name: string, value: string): unknown;
  header?(name: string, value: string): unknown;
}

const CONTENT_TYPES: Record<AuditExportFormat | AuditReportFormat, string> = {
  ndjson: 'application/x-ndjson; charset=utf-8',
  csv: 'text/csv; charset=utf-8',
  json: 'application/json; charset=utf-8',
  pdf: 'application/pdf',
};

/**
 * Query, export, reports and verification over HTTP, at `/audit`, behind the configured guard.
 * Filters are query parameters named like {@link AuditFilter}'s fields (`from`/`to` ISO 8601;
 * several categories, outcomes or levels comma-separated).
 * @publicApi
 */
@Controller('audit')
@UseGuards(AuditHttpGuard)
export class AuditController {
  constructor(
    @Inject(AuditQueryService) private readonly queries: AuditQueryService,
    @Inject(AuditReportService) private readonly reports: AuditReportService,
    @Inject(AuditIntegrityService) private readonly integrity: AuditIntegrityService,
  ) {}

  /** `GET /audit/events?action=order.*&limit=100&cursor=…` — one keyset page. */
  @Get('events')
  events(@Query() query: QueryParams): Promise<AuditPage> {
    const limit = one(query, 'limit');
    const cursor = one(query, 'cursor');
    return this.queries.query(parseFilter(query), {
      ...(limit !== undefined ? { limit: parseLimit(limit) } : {}),
      ...(cursor !== undefined ? { cursor } : {}),
    });
  }

  /** `GET /audit/export?format=csv&from=…` — every matching event, streamed. */
  @Get('export')
  export(
    @Query() query: QueryParams,
    @Res({ passthrough: true }) response: HeaderSink,
  ): StreamableFile {
    const format = (one(query, 'format') ?? 'ndjson') as AuditExportFormat;
    const stream = this.queries.export(parseFilter(query), format);
    setHeader(response, 'Content-Disposition', `attachment; filename="audit-export.${format}"`);
    return new StreamableFile(stream, { type: CONTENT_TYPES[format] });
  }

  /** `GET /audit/reports/change?from=…&to=…&format=pdf` — a compliance report. */
  @Get('reports/:kind')
  async report(
    @Param('kind') kind: string,
    @Query() query: QueryParams,
    @Res({ passthrough: true }) response: HeaderSink,
  ): Promise<StreamableFile> {
    const format = (one(query, 'format') ?? 'json') as AuditReportFormat;
    const { from, to } = parseFilter(query);
    const tenant = one(query, 'tenant');
    const subject = one(query, 'subject');
    const report = await this.reports.build(kind as AuditReportKind, {
      from: from ?? missingDate('from'),
      to: to ?? missingDate('to'),
      ...(tenant !== undefined ? { tenant } : {}),
      ...(subject !== undefined ? { subject } : {}),
    });
    const body = await this.reports.render(report, format);
    setHeader(response, 'Content-Disposition', `attachment; filename="audit-${kind}.${format}"`);
    return new StreamableFile(body, { type: CONTENT_TYPES[format] });
  }

  /** `GET /audit/verify?chain=shard-0` — walks chains and checkpoints. */
  @Get('verify')
  verify(@Query() query: QueryParams): Promise<AuditVerifyReport> {
    const chain = one(query, 'chain');
    return this.integrity.verify(chain !== undefined ? { chain } : {});
  }
}

function setHeader(response: HeaderSink, name: string, value: string): void {
  if (typeof response.setHeader === 'function') response.setHeader(name, value);
  else response.header?.(name, value);
}

/** The single value of a parameter; a repeated one is an error, not a silent pick. */
function one(query: QueryParams, name: string): string | undefined {
  const value = query[name];
  if (Array.isArray(value)) {
    throw new AuditError(
      'KEEL_AUDIT_INVALID_FILTER',
      invalidFilter({ field: name, problem: 'given more than once' }),
    );
  }
  return value === '' ? undefined : value;
}

function list(query: QueryParams, name: string): string[] | undefined {
  const value = one(query, name);
  return value === undefined ? undefined : value.split(',').filter((v) => v.length > 0);
}

function parseDate(query: QueryParams, name: 'from' | 'to'): Date | undefined {
  const value = one(query, name);
  if (value === undefined) return undefined;
  const date = new Date(value);
  if (!Number.isFinite(date.getTime())) {
    throw new AuditError(
      'KEEL_AUDIT_INVALID_FILTER',
      invalidFilter({ field: name, problem: `must be an ISO 8601 date (got '${value}')` }),
    );
  }
  return date;
}

function missingDate(name: 'from' | 'to'): never {
  throw new AuditError(
    'KEEL_AUDIT_INVALID_FILTER',
    invalidFilter({ field: name, problem: 'a report needs its period (ISO 8601)' }),
  );
}

function parseLimit(value: string): number {
  const limit = Number(value);
  // Out-of-range whole numbers are refused by the query service with the same code.
  return /^\d+$/.test(value) ? limit : Number.NaN;
}

/** An {@link AuditFilter} from query parameters; the query service validates the values. */
function parseFilter(query: QueryParams): AuditFilter {
  const filter: Record<string, unknown> = {};
  const from = parseDate(query, 'from');
  const to = parseDate(query, 'to');
  if (from !== undefined) filter['from'] = from;
  if (to !== undefined) filter['to'] = to;
  for (const name of ['category', 'outcome', 'level'] as const) {
    const values = list(query, name);
    if (values !== undefined) filter[name] = values;
  }
  for (const name of [
    'action',
    'actor',
    'tenant',
    'resourceType',
    'resourceId',
    'correlationId',
    'subject',
    'tag',
    'chain',
  ] as const) {
    const value = one(query, name);
    if (value !== undefined) filter[name] = value;
  }
  return filter as AuditFilter;
}
