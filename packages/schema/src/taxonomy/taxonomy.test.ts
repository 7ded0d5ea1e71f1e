import { describe, expect, it } from 'vitest';
import { aiEvents } from './ai.ts';
import { businessEvents } from './business.ts';
import { PURPOSES } from './definition.ts';
import {
  eventDefinition,
  isRegisteredEvent,
  type RegisteredEventName,
  registeredEventNames,
  registeredEvents,
  validateProperties,
} from './index.ts';
import { performanceEvents } from './performance.ts';
import { securityEvents } from './security.ts';
import { userEvents } from './user.ts';

const categoryFiles = [userEvents, performanceEvents, businessEvents, aiEvents, securityEvents];

describe('the registered taxonomy', () => {
  it('shares no event name between category files', () => {
    const total = categoryFiles.reduce((sum, events) => sum + Object.keys(events).length, 0);
    expect(registeredEventNames).toHaveLength(total);
  });

  it('names every event in snake_case', () => {
    for (const name of registeredEventNames) expect(name).toMatch(/^[a-z][a-z0-9]*(_[a-z0-9]+)*$/);
  });

  it('registers the events of the reference §1.1 and §2', () => {
    expect([...registeredEventNames].sort()).toEqual(
      [
        // user: session, navigation, form, document, search, collaboration
        'session_start',
        'session_end',
        'page_view',
        'tab_switch',
        'scroll_depth',
        'link_click',
        'back_button',
        'field_focus',
        'field_blur',
        'field_change',
        'form_submit',
        'validation_error',
        'document_create',
        'document_edit',
        'document_delete',
        'document_share',
        'document_export',
        'document_version',
        'search_query',
        'search_filter_applied',
        'search_result_clicked',
        'search_refinement',
        'invite_sent',
        'comment_added',
        'mention',
        'real_time_edit',
        // performance
        'page_load_time',
        'time_to_interactive',
        'web_vital',
        'javascript_error',
        'network_request',
        'api_latency',
        'database_query',
        'cache_access',
        'cache_hit_rate',
        'resource_usage',
        // business
        'trial_signup',
        'trial_start',
        'trial_end',
        'subscription_complete',
        'subscription_upgrade',
        'subscription_downgrade',
        'subscription_cancel',
        'payment',
        'payment_page_view',
        'feature_exploration',
        'first_ai_interaction',
        'reference_created',
        'reference_shared',
        'signup',
        'email_verify',
        'first_login',
        'tutorial',
        'first_action',
        'feature_used',
        // ai
        'prompt_submission',
        'response_received',
        'ai_feedback',
        'response_regenerated',
        'response_edited',
        // security
        'login',
        'logout',
        'mfa_challenge',
        'password_reset',
        'access_control',
        'threat_detected',
      ].sort(),
    );
  });

  it('gives every event a description and at least one known purpose', () => {
    for (const name of registeredEventNames) {
      const definition = registeredEvents[name];
      expect(definition.description.length, name).toBeGreaterThan(10);
      expect(definition.purposes.length, name).toBeGreaterThan(0);
      for (const purpose of definition.purposes) expect(PURPOSES, name).toContain(purpose);
    }
  });

  it('keeps security, server and billing events under data_collection', () => {
    const needsOnlyDataCollection: RegisteredEventName[] = [
      ...(Object.keys(securityEvents) as RegisteredEventName[]),
      'api_latency',
      'database_query',
      'cache_access',
      'cache_hit_rate',
      'resource_usage',
      'javascript_error',
      'payment',
      'subscription_complete',
    ];
    for (const name of needsOnlyDataCollection) {
      expect(registeredEvents[name].purposes, name).toEqual(['data_collection']);
    }
    expect(registeredEvents.page_view.purposes).toEqual(['analytics']);
    expect(registeredEvents.prompt_submission.purposes).toEqual(['analytics']);
  });

  it('marks free text and other people’s data as sensitive, and only optional properties', () => {
    expect(registeredEvents.prompt_submission.sensitiveFields).toEqual(['prompt_text']);
    expect(registeredEvents.response_received.sensitiveFields).toEqual(['response_text']);
    expect(registeredEvents.search_query.sensitiveFields).toEqual(['query_text']);
    expect(registeredEvents.mention.sensitiveFields).toEqual(['mentioned_user_id']);
    for (const name of registeredEventNames) {
      const { properties, sensitiveFields = [] } = registeredEvents[name] as {
        properties: { properties: Record<string, unknown>; required?: string[] };
        sensitiveFields?: readonly string[];
      };
      for (const field of sensitiveFields) {
        expect(Object.keys(properties.properties), `${name}.${field}`).toContain(field);
        // A client must be able to leave a sensitive field out.
        expect(properties.required ?? [], `${name}.${field}`).not.toContain(field);
      }
    }
  });

  it('tells registered names from custom ones, including names on Object.prototype', () => {
    expect(isRegisteredEvent('api_latency')).toBe(true);
    expect(isRegisteredEvent('checkout_clicked')).toBe(false);
    expect(isRegisteredEvent('toString')).toBe(false);
    expect(isRegisteredEvent('__proto__')).toBe(false);
    expect(eventDefinition('login')?.category).toBe('security');
    expect(eventDefinition('constructor')).toBeUndefined();
  });
});

describe('validateProperties', () => {
  const apiCall = { endpoint: '/api/documents/:id', method: 'GET', status_code: 200, duration_ms: 12.5 };

  it('accepts the properties of a registered event, extra keys included', () => {
    expect(validateProperties('api_latency', apiCall)).toEqual({ ok: true });
    expect(validateProperties('api_latency', { ...apiCall, request_bytes: 0, region: 'eu' })).toEqual({
      ok: true,
    });
  });

  it('reports each broken rule at its path', () => {
    expect(
      validateProperties('api_latency', {
        endpoint: '/api/documents/:id',
        method: 'FETCH',
        status_code: '200',
      }),
    ).toEqual({
      ok: false,
      errors: [
        { path: '/duration_ms', message: 'is required' },
        { path: '/method', message: 'must be one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS' },
        { path: '/status_code', message: 'must be integer' },
      ],
    });
    expect(validateProperties('api_latency', { ...apiCall, status_code: 99, duration_ms: -1 })).toEqual({
      ok: false,
      errors: [
        { path: '/status_code', message: 'must be >= 100' },
        { path: '/duration_ms', message: 'must be >= 0' },
      ],
    });
  });

  it('checks web vitals by name', () => {
    expect(validateProperties('web_vital', { name: 'LCP', value: 2400, rating: 'good' })).toEqual({
      ok: true,
    });
    expect(validateProperties('web_vital', { name: 'FID', value: 12 })).toEqual({
      ok: false,
      errors: [{ path: '/name', message: 'must be one of FCP, LCP, INP, CLS, TTFB' }],
    });
  });

  it('refuses any extra key on form events, so a field value cannot slip through', () => {
    expect(validateProperties('field_change', { form_id: 'signup', field_name: 'email' })).toEqual({
      ok: true,
    });
    expect(
      validateProperties('field_change', {
        form_id: 'signup',
        field_name: 'email',
        value: 'jane@example.com',
      }),
    ).toEqual({ ok: false, errors: [{ path: '/value', message: 'is not an allowed property' }] });
  });

  it('checks ratings, currencies, intervals and severities', () => {
    expect(validateProperties('ai_feedback', { response_id: crypto.randomUUID(), rating: 6 })).toEqual({
      ok: false,
      errors: [{ path: '/rating', message: 'must be <= 5' }],
    });
    expect(validateProperties('ai_feedback', { response_id: 'r-1', rating: 2.5 })).toEqual({
      ok: false,
      errors: [
        { path: '/response_id', message: 'must match format "uuid"' },
        { path: '/rating', message: 'must be integer' },
      ],
    });
    expect(
      validateProperties('payment', {
        amount: 29.99,
        currency: 'usd',
        plan: 'pro',
        interval: 'weekly',
        status: 'succeeded',
      }),
    ).toEqual({
      ok: false,
      errors: [
        { path: '/currency', message: 'must match pattern "^[A-Z]{3}$"' },
        { path: '/interval', message: 'must be one of monthly, annual' },
      ],
    });
    expect(
      validateProperties('threat_detected', { threat_type: 'xss', severity: 'severe', blocked: true }),
    ).toEqual({
      ok: false,
      errors: [{ path: '/severity', message: 'must be one of low, medium, high, critical' }],
    });
  });

  it('needs properties to be an object for a registered event', () => {
    expect(validateProperties('page_view', [])).toEqual({
      ok: false,
      errors: [{ path: '', message: 'must be object' }],
    });
    expect(validateProperties('page_view', null)).toEqual({
      ok: false,
      errors: [{ path: '', message: 'must be object' }],
    });
  });

  it('accepts custom events whatever their properties', () => {
    expect(validateProperties('checkout_clicked', { anything: [1, { deep: true }] })).toEqual({ ok: true });
    expect(validateProperties('toString', 'not even an object')).toEqual({ ok: true });
  });

  it('never repeats the offending value in an error', () => {
    const secret = 'jane.doe@example.com';
    const result = validateProperties('api_latency', {
      endpoint: 42,
      method: secret,
      status_code: secret,
      duration_ms: secret,
      request_bytes: secret,
    });
    expect(result.ok).toBe(false);
    expect(JSON.stringify(result)).not.toContain('jane');
  });

  it('compiles every registered schema and accepts none of them empty-handed unless all is optional', () => {
    for (const name of registeredEventNames) {
      const required = (registeredEvents[name].properties as { required?: string[] }).required ?? [];
      expect(validateProperties(name, {}).ok, name).toBe(required.length === 0);
    }
  });
});
