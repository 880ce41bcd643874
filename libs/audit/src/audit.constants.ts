/** Token of the resolved {@link AuditSettings}. @internal */
export const AUDIT_SETTINGS = Symbol('KEEL_AUDIT_SETTINGS');
