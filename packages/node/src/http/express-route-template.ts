/**
 * The route template of an Express request, e.g. `/orgs/:orgId/documents/:id`. Express keeps only the concrete
 * mount path (`req.baseUrl` is `/orgs/42`) and the last route's own pattern (`req.route.path`), so the mount
 * patterns are collected as the router enters each layer: Express 5's router (2.3 and later) publishes every
 * handler call on the `express.router.request` tracing channel with the pattern its layer matched.
 * With an older router, the template is `req.baseUrl` + `req.route.path`, and a router mounted on a path with
 * parameters shows their values: mount such routers with the router 2.3 that Express 5.3 brings.
 */
import dc from 'node:diagnostics_channel';
import type { IncomingMessage } from 'node:http';
import { UNMATCHED_ROUTE } from './api-latency.ts';

const routeState = Symbol('deepref.expressRoute');

interface RouteState {
  /** Concrete base URL → the pattern of the mount layer that produced it. */
  mounts: Map<string, string>;
  template?: string;
}

/** The parts of Express's request this module reads. */
interface ExpressRequest extends IncomingMessage {
  baseUrl?: string;
  route?: { path?: unknown; stack?: unknown[] };
  [routeState]?: RouteState;
}

interface TraceContext {
  req?: ExpressRequest;
  layer?: unknown;
  route?: unknown;
}

let watching = false;

/** Starts collecting mount patterns (once per process) for requests marked with `markRequest`. */
export function watchExpressRoutes(): void {
  if (watching) return;
  watching = true;
  dc.subscribe('tracing:express.router.request:start', (message) => onLayer(message as TraceContext));
}

export function markRequest(request: IncomingMessage): void {
  (request as ExpressRequest)[routeState] = { mounts: new Map() };
}

export function routeTemplate(request: IncomingMessage): string {
  const req = request as ExpressRequest;
  const state = req[routeState];
  if (state?.template !== undefined) return state.template;
  if (req.route === undefined) return UNMATCHED_ROUTE;
  const base = req.baseUrl ?? '';
  const baseTemplate = state ? resolveBase(state, base) : undefined;
  return joinPaths(baseTemplate ?? base, patternText(req.route.path) ?? '');
}

function onLayer(context: TraceContext): void {
  const req = context.req;
  const state = req?.[routeState];
  if (!req || !state) return;
  const pattern = patternText(context.route);
  if (pattern === undefined) return;
  const base = req.baseUrl ?? '';
  if (req.route?.stack?.includes(context.layer)) {
    // A handler of the matched route: its pattern is the route's (the element that matched, for an array).
    state.template = joinPaths(resolveBase(state, base) ?? base, pattern);
  } else if (pattern !== '/') {
    // A mount layer (`use(path, …)`): the router has just set `baseUrl` to what this pattern matched.
    state.mounts.set(base, pattern);
  }
}

/** The template of a concrete base URL from the mounts seen, or undefined when one of its steps was not seen. */
function resolveBase(state: RouteState, base: string): string | undefined {
  if (base === '') return '';
  const pattern = state.mounts.get(base);
  if (pattern === undefined) return undefined;
  let parent = '';
  for (const candidate of state.mounts.keys()) {
    if (
      candidate.length > parent.length &&
      candidate.length < base.length &&
      base.startsWith(candidate) &&
      base[candidate.length] === '/'
    ) {
      parent = candidate;
    }
  }
  const parentTemplate = resolveBase(state, parent);
  return parentTemplate === undefined ? undefined : joinPaths(parentTemplate, pattern);
}

function patternText(pattern: unknown): string | undefined {
  if (typeof pattern === 'string') return pattern;
  if (pattern instanceof RegExp) return String(pattern);
  if (Array.isArray(pattern)) return pattern.map((item) => patternText(item) ?? '').join(',');
  return undefined;
}

function joinPaths(base: string, path: string): string {
  if (path === '' || path === '/') return base === '' ? '/' : base;
  const trimmed = base.endsWith('/') ? base.slice(0, -1) : base;
  return `${trimmed}${path.startsWith('/') ? path : `/${path}`}`;
}
