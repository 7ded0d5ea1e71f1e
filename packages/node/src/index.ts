export { type ClientStats, DeeprefClient } from './client.ts';
export type { ClientOptions } from './client-options.ts';
export { defaultClient, init } from './default-client.ts';
export { DeeprefNodeError, type ErrorCode, errorCatalog } from './errors.ts';
export type { Identity, TrackOptions, TrackProperties } from './event.ts';
export {
  type ApiLatency,
  type ApiLatencyOptions,
  CLIENT_CLOSED_REQUEST,
  UNMATCHED_ROUTE,
} from './http/api-latency.ts';
export {
  type DeeprefExpressMiddleware,
  type DeeprefExpressOptions,
  deeprefExpress,
} from './http/express-middleware.ts';
export { type DeeprefFastifyOptions, deeprefFastify } from './http/fastify-plugin.ts';
export type { SpillOptions } from './queue/spill-journal.ts';
export { currentRequest, type RequestContext } from './request-context.ts';
export {
  ConcurrentRequests,
  ResourceSampler,
  type ResourceSamplerOptions,
  type ResourceUsage,
} from './resource-sampler.ts';
export {
  type ApiCallProperties,
  type ApiCallTracker,
  type TrackApiCallOptions,
  trackApiCall,
} from './track-api-call.ts';
export { LIBRARY_NAME, LIBRARY_VERSION } from './version.ts';
