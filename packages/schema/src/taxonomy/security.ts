/**
 * Security events (reference §2.4), and the authentication events §1.1 also lists among user events: each is
 * registered once, here, since they are kept to secure the service (`data_collection`). The network address is
 * never a property: it travels in the envelope (`context.ip`) where the network policy truncates or hashes it,
 * and the enrichment stage derives §2.4's geolocation from it under the same policy.
 */
import Type from 'typebox';
import { defineEvent } from './definition.ts';
import { Code, EntityId, Score } from './fields.ts';

const AuthMethod = Type.Enum(['password', 'sso', 'oauth', 'magic_link', 'passkey', 'api_key']);
const MfaMethod = Type.Enum(['totp', 'sms', 'email', 'webauthn', 'push', 'recovery_code']);
/** A persistent browser or device identifier; personal data, so it is encrypted. */
const DeviceFingerprint = Type.String({ maxLength: 256 });

export const securityEvents = {
  login: defineEvent({
    category: 'security',
    group: 'authentication',
    description: 'A login attempt, successful or not.',
    properties: Type.Object({
      method: AuthMethod,
      success: Type.Boolean(),
      /** On failure, e.g. `invalid_credentials`, `locked`, `mfa_failed`. */
      failure_reason: Type.Optional(Code),
      mfa_used: Type.Optional(Type.Boolean()),
      risk_score: Type.Optional(Score),
      device_fingerprint: Type.Optional(DeviceFingerprint),
    }),
    purposes: ['data_collection'],
    sensitiveFields: ['device_fingerprint'],
  }),
  logout: defineEvent({
    category: 'security',
    group: 'authentication',
    description: 'A session was signed out.',
    properties: Type.Object({
      reason: Type.Enum(['user', 'timeout', 'revoked', 'password_change']),
    }),
    purposes: ['data_collection'],
  }),
  mfa_challenge: defineEvent({
    category: 'security',
    group: 'authentication',
    description: 'A second factor was asked for; `success` is its outcome (absent while pending).',
    properties: Type.Object({
      method: MfaMethod,
      success: Type.Optional(Type.Boolean()),
      risk_score: Type.Optional(Score),
      device_fingerprint: Type.Optional(DeviceFingerprint),
    }),
    purposes: ['data_collection'],
    sensitiveFields: ['device_fingerprint'],
  }),
  password_reset: defineEvent({
    category: 'security',
    group: 'authentication',
    description: 'A password reset was requested or completed.',
    properties: Type.Object({
      stage: Type.Enum(['requested', 'completed']),
      success: Type.Optional(Type.Boolean()),
      risk_score: Type.Optional(Score),
    }),
    purposes: ['data_collection'],
  }),
  access_control: defineEvent({
    category: 'security',
    group: 'access_control',
    description: 'An authorization decision on a resource, granted or denied.',
    properties: Type.Object({
      /** What was accessed, as a type or route template (`document`, `/api/admin/users`); not a title. */
      resource: Type.String({ minLength: 1, maxLength: 512 }),
      resource_id: Type.Optional(EntityId),
      permission: Type.Enum(['read', 'comment', 'write', 'share', 'delete', 'admin']),
      granted: Type.Boolean(),
      /** A reason code, e.g. `not_owner`, `role_missing`. */
      reason: Type.Optional(Code),
      role: Type.Optional(Code),
    }),
    purposes: ['data_collection'],
  }),
  threat_detected: defineEvent({
    category: 'security',
    group: 'threat_detection',
    description: 'A detector flagged a request or a pattern of requests as an attack.',
    properties: Type.Object({
      threat_type: Type.Enum(['brute_force', 'sql_injection', 'xss', 'ddos', 'other']),
      severity: Type.Enum(['low', 'medium', 'high', 'critical']),
      blocked: Type.Boolean(),
      /** e.g. `rate_limited`, `ip_blocked`, `account_locked`. */
      mitigation_action: Type.Optional(Code),
      detector: Type.Optional(Code),
      rule_id: Type.Optional(Code),
      /** The route template that was attacked. */
      endpoint: Type.Optional(Type.String({ maxLength: 512 })),
    }),
    purposes: ['data_collection'],
  }),
};
