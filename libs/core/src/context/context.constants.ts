/** Header carrying the correlation id between services. @publicApi */
export const CORRELATION_ID_HEADER = 'x-correlation-id';
/** W3C Trace Context header, passed through. @publicApi */
export const TRACEPARENT_HEADER = 'traceparent';
/** Default header read for the tenant. @publicApi */
export const TENANT_HEADER = 'x-tenant-id';
/** Token of the resolved request-context settings. @internal */
export const KEEL_REQUEST_CONTEXT_SETTINGS = Symbol('KEEL_REQUEST_CONTEXT_SETTINGS');

/**
 * Context key of a function that a message transport binds around a handler call to see the
 * handler's own error before Nest's RPC exception filters turn it into a response body (the
 * generic filter keeps only "Internal server error"). The request-context interceptor passes
 * every error of an RPC handler to it.
 * @internal
 */
export const RPC_ERROR_SINK = Symbol('KEEL_RPC_ERROR_SINK');
