import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import type {
  CheckResult,
  InstanceIdentity,
  InstanceStatus,
  ServiceInstance,
} from './interfaces/instance.interface.js';
import type { RawRecord } from './stores/registry.store.js';

const IdentitySchema = z
  .object({
    id: z.string().min(1).max(128),
    service: z.string().min(1).max(128),
    address: z.object({
      host: z.string().min(1).max(255),
      port: z.number().int().min(0).max(65_535),
      ports: z.record(z.string(), z.number().int().min(0).max(65_535)).optional(),
    }),
    version: z.string().max(64),
    tags: z.array(z.string().max(128)).max(64),
    metadata: z.record(z.string(), z.string()),
    weight: z.number().min(0).max(1_000_000),
    zone: z.string().max(64).optional(),
    checks: z.array(
      z.union([
        z.object({
          type: z.literal('http'),
          path: z.string().startsWith('/'),
          expectStatus: z.number().int().optional(),
          timeoutMs: z.number().int().positive().optional(),
        }),
        z.object({
          type: z.literal('tcp'),
          port: z.string().optional(),
          timeoutMs: z.number().int().positive().optional(),
        }),
      ]),
    ),
  })
  .strict();

/** An HMAC-SHA256 as `sign()` writes it: 64 lowercase hex characters, nothing else. */
const SIGNATURE_PATTERN = /^[0-9a-f]{64}$/;

const CHECK_RESULT = z.enum(['passing', 'warning', 'critical']);

const EnvelopeSchema = z.object({
  body: z.string(),
  sig: z.string(),
  draining: z.boolean(),
  health: CHECK_RESULT,
  self: CHECK_RESULT,
  registeredAt: z.number(),
  heartbeatAt: z.number(),
  updatedAt: z.number(),
});

/** Why a record was rejected on read (the metric label). @publicApi */
export type RejectReason = 'malformed' | 'signature' | 'mismatch';

/** Result of decoding. @publicApi */
export type Decoded =
  | { readonly ok: true; readonly instance: ServiceInstance; readonly body: string }
  | { readonly ok: false; readonly reason: RejectReason };

/**
 * Encodes, signs and validates registry records. The signature is an HMAC-SHA256 of the
 * identity JSON (address, version, tags, metadata, weight, zone, checks) with the fleet's shared
 * secret; status and times are not signed because the store and the monitor change them, and
 * those writes are guarded by the owner proof instead.
 *
 * Public for tooling that registers instances on behalf of others (a sidecar for a non-Nest
 * process, a load generator): encode with it and write through a `RegistryStore`.
 * @publicApi
 */
export class RecordCodec {
  /** Decoded identities by body text, so a resync does not re-parse unchanged records. */
  private readonly identities = new Map<string, InstanceIdentity>();

  constructor(private readonly secret: string | undefined) {}

  /** Record JSON for `RegistryStore.register` (the store fills in the times). */
  encode(
    identity: InstanceIdentity,
    status: { draining: boolean; health: CheckResult; self: CheckResult },
  ): string {
    const body = JSON.stringify(identity);
    return JSON.stringify({
      body,
      sig: this.sign(body),
      draining: status.draining,
      health: status.health,
      self: status.self,
      registeredAt: 0,
      heartbeatAt: 0,
      updatedAt: 0,
    });
  }

  /**
   * The owner proof of an instance: without a secret, empty (no protection); with one, an HMAC
   * only holders of the secret can compute. The store keeps its SHA-1, never the proof.
   */
  proof(service: string, id: string): string {
    if (this.secret === undefined) return '';
    return createHmac('sha256', this.secret).update(`owner\n${service}\n${id}`).digest('hex');
  }

  /** Validates a record read from the store (JSON, signature, schema, id and service). */
  decode(service: string, raw: RawRecord): Decoded {
    let envelope: z.infer<typeof EnvelopeSchema>;
    try {
      const parsed = EnvelopeSchema.safeParse(JSON.parse(raw.json));
      if (!parsed.success) return { ok: false, reason: 'malformed' };
      envelope = parsed.data;
    } catch {
      return { ok: false, reason: 'malformed' };
    }
    let identity = this.identities.get(envelope.body);
    if (identity === undefined) {
      if (!this.verify(envelope.body, envelope.sig)) return { ok: false, reason: 'signature' };
      try {
        const parsed = IdentitySchema.safeParse(JSON.parse(envelope.body));
        if (!parsed.success) return { ok: false, reason: 'malformed' };
        identity = parsed.data;
      } catch {
        return { ok: false, reason: 'malformed' };
      }
      if (this.identities.size > 10_000) this.identities.clear();
      this.identities.set(envelope.body, identity);
    } else if (!this.verify(envelope.body, envelope.sig)) {
      return { ok: false, reason: 'signature' };
    }
    if (identity.service !== service || identity.id !== raw.id)
      return { ok: false, reason: 'mismatch' };
    return {
      ok: true,
      body: envelope.body,
      instance: {
        ...identity,
        status: effectiveStatus(envelope.draining, envelope.health, envelope.self),
        registeredAt: envelope.registeredAt,
        heartbeatAt: envelope.heartbeatAt,
        updatedAt: envelope.updatedAt,
        expiresAt: raw.expiresAt,
      },
    };
  }

  private sign(body: string): string {
    if (this.secret === undefined) return '';
    return createHmac('sha256', this.secret).update(body).digest('hex');
  }

  private verify(body: string, sig: string): boolean {
    if (this.secret === undefined) return true;
    // Exactly the form sign() writes: Node's hex decoder stops at the first non-hex character
    // and drops an odd last digit, so without this a signature with junk appended would verify.
    if (!SIGNATURE_PATTERN.test(sig)) return false;
    const expected = Buffer.from(this.sign(body), 'hex');
    const given = Buffer.from(sig, 'hex');
    return timingSafeEqual(given, expected);
  }
}

const SEVERITY: Record<CheckResult, number> = { passing: 0, warning: 1, critical: 2 };

/** Draining wins; otherwise the worse of the monitor's and the instance's own checks. @publicApi */
export function effectiveStatus(
  draining: boolean,
  health: CheckResult,
  self: CheckResult,
): InstanceStatus {
  if (draining) return 'draining';
  return SEVERITY[health] >= SEVERITY[self] ? health : self;
}
