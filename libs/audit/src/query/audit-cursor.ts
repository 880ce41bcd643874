import type { AuditPosition } from '../stores/audit.store.js';
import { AuditError } from '../audit.errors.js';
import { invalidCursor } from '../audit.messages.js';

const VERSION = 'v1';
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * A page cursor: the keyset position of the last row served, as opaque base64url text. It is
 * not signed — it only says where the next page starts, and whoever holds it may already read
 * the rows either side — but it is checked, so a damaged cursor is a 400, not a query error.
 * @internal
 */
export function encodeCursor(position: AuditPosition): string {
  return Buffer.from(`${VERSION}|${position.occurredAt}|${position.id}`, 'utf8').toString(
    'base64url',
  );
}

/** @throws AuditError KEEL_AUDIT_INVALID_CURSOR when `cursor` is not one {@link encodeCursor} made. @internal */
export function decodeCursor(cursor: string): AuditPosition {
  const [version, occurredAt, id, ...rest] = Buffer.from(cursor, 'base64url')
    .toString('utf8')
    .split('|');
  if (
    version !== VERSION ||
    rest.length > 0 ||
    !ISO.test(occurredAt ?? '') ||
    !UUID.test(id ?? '')
  ) {
    throw new AuditError('KEEL_AUDIT_INVALID_CURSOR', invalidCursor());
  }
  return { occurredAt: occurredAt!, id: id! };
}
