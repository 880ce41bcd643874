import {
  createHmac,
  createPrivateKey,
  createPublicKey,
  sign,
  timingSafeEqual,
  verify,
  type KeyObject,
} from 'node:crypto';
import type { AuditCheckpoint } from '../audit-event.js';
import { checkpointSigningInput, type CheckpointBody } from './chain-format.js';

/**
 * Signs and verifies checkpoints: Ed25519 when the key is a PEM private key (anyone holding the
 * public key can verify, and cannot sign), else HMAC-SHA256 with the key as the secret (the
 * verifier needs the secret).
 * @publicApi
 */
export class CheckpointSigner {
  readonly algorithm: AuditCheckpoint['algorithm'];
  private readonly privateKey: KeyObject | undefined;
  private readonly publicKey: KeyObject | undefined;
  private readonly secret: Buffer | undefined;

  /** @param key an Ed25519 private key in PEM, or an HMAC secret; `publicKey` verifies only. */
  constructor(
    readonly keyId: string,
    key: { readonly privateKey?: string; readonly publicKey?: string },
  ) {
    const pem = key.privateKey?.includes('-----BEGIN') === true;
    if (pem || key.publicKey !== undefined) {
      this.algorithm = 'ed25519';
      this.privateKey = pem ? createPrivateKey(key.privateKey!) : undefined;
      this.publicKey =
        key.publicKey !== undefined
          ? createPublicKey(key.publicKey)
          : createPublicKey(this.privateKey!);
    } else {
      this.algorithm = 'hmac-sha256';
      this.secret = Buffer.from(key.privateKey ?? '', 'utf8');
    }
  }

  /** The checkpoint with its signature. */
  sign(body: Omit<CheckpointBody, 'algorithm' | 'keyId'>): AuditCheckpoint {
    const full: CheckpointBody = { ...body, algorithm: this.algorithm, keyId: this.keyId };
    const input = checkpointSigningInput(full);
    const signature =
      this.algorithm === 'ed25519'
        ? sign(null, input, this.privateKey!).toString('base64')
        : createHmac('sha256', this.secret!).update(input).digest('base64');
    return { ...full, signature };
  }

  /** True when the checkpoint's signature is this key's over its fields. */
  verify(checkpoint: AuditCheckpoint): boolean {
    if (checkpoint.algorithm !== this.algorithm || checkpoint.keyId !== this.keyId) return false;
    const input = checkpointSigningInput(checkpoint);
    const given = Buffer.from(checkpoint.signature, 'base64');
    if (this.algorithm === 'ed25519') return verify(null, input, this.publicKey!, given);
    const expected = createHmac('sha256', this.secret!).update(input).digest();
    return expected.length === given.length && timingSafeEqual(expected, given);
  }
}
