/** Header carrying the correlation id between services. @publicApi */
export const CORRELATION_ID_HEADER = 'x-correlation-id';
/** W3C Trace Context header, passed through. @publicApi */
export const TRACEPARENT_HEADER = 'traceparent';
/** Default header read for the tenant. @publicApi */
export const TENANT_HEADER = 'x-tenant-id';
/** Token of the resolved request-context settings. @internal */
export const KEEL_REQUEST_CONTEXT_SETTINGS = Symbol('KEEL_REQUEST_CONTEXT_SETTINGS');
