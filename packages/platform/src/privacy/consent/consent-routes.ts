/**
 * Consent over HTTP. `POST /api/v1/consent` is the browser SDK's `setConsent`: authenticated by write key and
 * checked against the source's origins like the collector, with a `text/plain` body so browsers send it without a
 * preflight. `GET`/`POST /api/v1/consent/:subjectId` and `/api/v1/consent-policies` are the operator's: the state
 * with its whole history, a change recorded as `api` or `admin`, the policy texts. Any reader (the operator, a
 * signed-in person, a read API key) may read them; changes are served on the control socket only (the
 * `deepref consent` CLI) until the API has an admin role to check.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import Type, { type Static } from 'typebox';
import type { ReaderHook } from '../../api/auth/auth.ts';
import { preflightHeaders, requestCorsHeaders } from '../../collector/cors.ts';
import { acceptSdkRequests } from '../../collector/routes.ts';
import type { SourceRegistry } from '../../collector/sources.ts';
import { requireWriteKey } from '../../collector/write-key.ts';
import type { ConsentConfig, IngestConfig } from '../../config.ts';
import { DeeprefError } from '../../errors.ts';
import {
  CONSENT_METHODS,
  type ConsentMethod,
  type ConsentRecord,
  type ConsentState,
  foldConsent,
  type Grants,
  PURPOSES,
  type Purpose,
} from './consent.ts';
import type { ConsentCache } from './consent-cache.ts';

export interface ConsentRoutesDeps {
  consent: ConsentCache;
  config: Pick<ConsentConfig, 'mode'>;
  sources: SourceRegistry;
  limits: Pick<IngestConfig, 'maxRequestBytes'>;
  isAdmin: (request: FastifyRequest) => boolean;
  /** Guards the reading routes. */
  requireReader: ReaderHook;
}

/** What an operator sees of a subject: its group, the state per purpose and the history that led to it. */
export interface ConsentView {
  subjectId: string;
  /** The user the subject belongs to, and the anonymous ids linked to it: their consent is one. */
  linkedIds: string[];
  mode: ConsentConfig['mode'];
  state: ConsentState;
  /** Every record of the group, oldest first; folding it gives `state`. */
  history: ConsentRecord[];
}

const Id = Type.String({ minLength: 1, maxLength: 256 });
const Purposes = Type.Object(
  Object.fromEntries(PURPOSES.map((purpose) => [purpose, Type.Optional(Type.Boolean())])),
  { additionalProperties: false, minProperties: 1 },
);
const PolicyVersion = Type.String({ minLength: 1, maxLength: 64 });

const SdkBody = Type.Object(
  {
    writeKey: Type.Optional(Type.String()),
    userId: Type.Optional(Id),
    anonymousId: Type.Optional(Id),
    purposes: Purposes,
    policyVersion: Type.Optional(PolicyVersion),
  },
  { additionalProperties: false },
);
const AdminBody = Type.Object(
  {
    purposes: Purposes,
    policyVersion: Type.Optional(PolicyVersion),
    method: Type.Optional(Type.Union(CONSENT_METHODS.filter((m) => m !== 'sdk').map((m) => Type.Literal(m)))),
  },
  { additionalProperties: false },
);
const SubjectParams = Type.Object({ subjectId: Id });
const PolicyBody = Type.Object(
  { version: PolicyVersion, text: Type.String({ minLength: 1, maxLength: 100_000 }) },
  { additionalProperties: false },
);

type PurposeChoices = Partial<Record<Purpose, boolean>>;

export async function consentRoutes(app: FastifyInstance, deps: ConsentRoutesDeps): Promise<void> {
  await app.register(sdkConsentRoute, deps);
  await app.register(operatorConsentRoutes, deps);
}

/** `POST /api/v1/consent`: the visitor's own choice, from the browser SDK. */
async function sdkConsentRoute(app: FastifyInstance, deps: ConsentRoutesDeps): Promise<void> {
  acceptSdkRequests(app, deps.limits);
  app.options('/api/v1/consent', async (request, reply) => {
    reply.headers(preflightHeaders(request.headers.origin)).code(204).send();
  });

  app.post('/api/v1/consent', { schema: { body: SdkBody } }, async (request, reply) => {
    const writeKey = requireWriteKey({ headers: request.headers, body: request.body, query: request.query });
    const source = await deps.sources.authenticate(writeKey);
    if (!source) throw new DeeprefError('DEEPREF_UNKNOWN_WRITE_KEY');
    reply.headers(requestCorsHeaders(source, request.headers.origin));
    const body = request.body as Static<typeof SdkBody>;
    const subjectId = body.userId ?? body.anonymousId;
    if (subjectId === undefined) throw new DeeprefError('DEEPREF_CONSENT_NO_SUBJECT');
    if (body.userId !== undefined && body.anonymousId !== undefined) {
      await deps.consent.link(body.anonymousId, body.userId);
    }
    const records = await deps.consent.record({
      subjectId,
      purposes: body.purposes as PurposeChoices,
      method: 'sdk',
      policyVersion: body.policyVersion,
      sourceId: source.id,
    });
    const grants: Grants = await deps.consent.grants([subjectId], deps.config.mode);
    return { subjectId, policyVersion: records[0]?.policyVersion, consent: grants };
  });
}

/** The operator's routes: read and change any subject's consent, publish policy texts. */
async function operatorConsentRoutes(app: FastifyInstance, deps: ConsentRoutesDeps): Promise<void> {
  const requireAdmin = async (request: FastifyRequest) => {
    if (!deps.isAdmin(request)) {
      throw new DeeprefError('DEEPREF_FORBIDDEN', {
        detail: 'Consent changes are served on the control socket only; use `deepref consent` on the server.',
      });
    }
  };
  const store = deps.consent.store;

  const view = async (subjectId: string): Promise<ConsentView> => {
    const linkedIds = await store.group(await store.rootOf(subjectId));
    const history = await store.history(linkedIds);
    return {
      subjectId,
      linkedIds,
      mode: deps.config.mode,
      state: foldConsent(history, deps.config.mode),
      history,
    };
  };

  app.get(
    '/api/v1/consent/:subjectId',
    { onRequest: deps.requireReader, schema: { params: SubjectParams } },
    async (request) => view((request.params as Static<typeof SubjectParams>).subjectId),
  );

  app.post(
    '/api/v1/consent/:subjectId',
    { onRequest: requireAdmin, schema: { params: SubjectParams, body: AdminBody } },
    async (request) => {
      const { subjectId } = request.params as Static<typeof SubjectParams>;
      const body = request.body as Static<typeof AdminBody>;
      await deps.consent.record({
        subjectId,
        purposes: body.purposes as PurposeChoices,
        method: (body.method ?? 'api') as ConsentMethod,
        policyVersion: body.policyVersion,
      });
      return view(subjectId);
    },
  );

  app.get('/api/v1/consent-policies', { onRequest: deps.requireReader }, async () => {
    const policies = await store.policies();
    return { current: policies[0]?.version, policies };
  });

  app.post(
    '/api/v1/consent-policies',
    { onRequest: requireAdmin, schema: { body: PolicyBody } },
    async (request, reply) => {
      const { version, text } = request.body as Static<typeof PolicyBody>;
      return reply.code(201).send(await store.publishPolicy(version, text));
    },
  );
}
