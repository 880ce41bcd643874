import { z } from 'zod';

/**
 * Validators of the values core reads from more than one source (a `forRoot` option, an
 * environment variable, the YAML file), so each rule and its message is written once.
 * @internal
 */

/** A redis:// or rediss:// URL (`REDIS_URL`, `redis.url`, `forRoot({ redis })`). */
export const redisUrlSchema = z
  .string()
  .refine((v) => /^rediss?:\/\//.test(v) && URL.canParse(v), 'must be a redis:// or rediss:// URL');

/** A service name: it labels metrics and names registry records. */
export const serviceNameSchema = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9._-]{0,62}$/i,
    'must be 1–63 letters, digits, dots, dashes or underscores',
  );

/** The prefix of every Redis key Keel writes. */
export const redisKeyPrefixSchema = z.string().max(64);
