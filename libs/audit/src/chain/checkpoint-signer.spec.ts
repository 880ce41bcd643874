import { createPublicKey, generateKeyPairSync, verify } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import type { AuditCheckpoint } from '../audit-event.js';
import { checkpointSigningInput } from './chain-format.js';
import { CheckpointSigner } from './checkpoint-signer.js';

const SECRET = 'a-checkpoint-secret-of-32-characters!!';

const body = {
  chain: 'shard-3',
  fromSeq: 1,
  toSeq: 10,
  count: 10,
  lastHash: 'ab'.repeat(32),
  createdAt: '2026-12-02T10:00:00.000Z',
  reason: 'interval',
  previousSignature: '',
} as const;

function ed25519Pems(): { privateKey: string; publicKey: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

describe('CheckpointSigner (HMAC-SHA256)', () => {
  const signer = new CheckpointSigner('k1', { privateKey: SECRET });

  it('uses HMAC for a key that is not PEM, and signs every field', () => {
    expect(signer.algorithm).toBe('hmac-sha256');
    const checkpoint = signer.sign(body);
    expect(checkpoint).toEqual({
      ...body,
      algorithm: 'hmac-sha256',
      keyId: 'k1',
      signature: expect.any(String),
    });
    expect(Buffer.from(checkpoint.signature, 'base64')).toHaveLength(32);
    expect(signer.verify(checkpoint)).toBe(true);
  });

  it('is deterministic: the same body and key give the same signature', () => {
    expect(signer.sign(body).signature).toBe(
      new CheckpointSigner('k1', { privateKey: SECRET }).sign(body).signature,
    );
  });

  it('refuses an altered field, another key, another key id or another algorithm', () => {
    const checkpoint = signer.sign(body);
    expect(signer.verify({ ...checkpoint, toSeq: 11 })).toBe(false);
    expect(signer.verify({ ...checkpoint, lastHash: 'cd'.repeat(32) })).toBe(false);
    expect(signer.verify({ ...checkpoint, previousSignature: 'x' })).toBe(false);
    const other = new CheckpointSigner('k1', { privateKey: `${SECRET}?` });
    expect(other.verify(checkpoint)).toBe(false);
    expect(new CheckpointSigner('k2', { privateKey: SECRET }).verify(checkpoint)).toBe(false);
    expect(signer.verify({ ...checkpoint, algorithm: 'ed25519' })).toBe(false);
  });

  it('refuses a signature of the wrong length without throwing', () => {
    const checkpoint = signer.sign(body);
    expect(signer.verify({ ...checkpoint, signature: 'c2hvcnQ=' })).toBe(false);
    expect(signer.verify({ ...checkpoint, signature: '' })).toBe(false);
  });

  it('signs with an empty secret when no key is given (HMAC still)', () => {
    const empty = new CheckpointSigner('none', {});
    expect(empty.algorithm).toBe('hmac-sha256');
    const checkpoint = empty.sign(body);
    expect(empty.verify(checkpoint)).toBe(true);
    expect(signer.verify({ ...checkpoint, keyId: 'k1' })).toBe(false);
  });
});

describe('CheckpointSigner (Ed25519)', () => {
  it('uses Ed25519 for a PEM private key, and a 64-byte signature anyone can check', () => {
    const { privateKey, publicKey } = ed25519Pems();
    const signer = new CheckpointSigner('ed', { privateKey });
    expect(signer.algorithm).toBe('ed25519');
    const checkpoint = signer.sign(body);
    expect(checkpoint.algorithm).toBe('ed25519');
    expect(checkpoint.keyId).toBe('ed');
    expect(Buffer.from(checkpoint.signature, 'base64')).toHaveLength(64);
    expect(signer.verify(checkpoint)).toBe(true);
    // A verifier built from the public key alone accepts it…
    const verifier = new CheckpointSigner('ed', { publicKey });
    expect(verifier.algorithm).toBe('ed25519');
    expect(verifier.verify(checkpoint)).toBe(true);
    // …and the signature is over the documented signing input.
    expect(
      verify(
        null,
        checkpointSigningInput(checkpoint),
        createPublicKey(publicKey),
        Buffer.from(checkpoint.signature, 'base64'),
      ),
    ).toBe(true);
  });

  it('refuses an altered checkpoint and one signed by another key pair', () => {
    const mine = ed25519Pems();
    const theirs = ed25519Pems();
    const signer = new CheckpointSigner('ed', { privateKey: mine.privateKey });
    const forged = new CheckpointSigner('ed', { privateKey: theirs.privateKey }).sign(body);
    expect(signer.verify(forged)).toBe(false);
    const checkpoint: AuditCheckpoint = signer.sign(body);
    expect(signer.verify({ ...checkpoint, count: 9 })).toBe(false);
    expect(signer.verify({ ...checkpoint, reason: 'shutdown' })).toBe(false);
    expect(new CheckpointSigner('ed', { publicKey: theirs.publicKey }).verify(checkpoint)).toBe(
      false,
    );
  });

  it('does not accept an HMAC checkpoint, whatever its key id', () => {
    const signer = new CheckpointSigner('ed', { privateKey: ed25519Pems().privateKey });
    const hmac = new CheckpointSigner('ed', { privateKey: SECRET }).sign(body);
    expect(signer.verify(hmac)).toBe(false);
  });

  it('cannot sign with only a public key', () => {
    const verifier = new CheckpointSigner('ed', { publicKey: ed25519Pems().publicKey });
    expect(() => verifier.sign(body)).toThrow();
  });
});
