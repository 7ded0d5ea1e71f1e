/**
 * User interaction events (reference §1.1 "User Interaction Data"): sessions, navigation, forms, documents,
 * search and collaboration. AI interactions are in `ai.ts`; login, logout and MFA are security events
 * (`security.ts`) because §2.4 records them for the security of the service.
 */
import Type from 'typebox';
import { defineEvent } from './definition.ts';
import { Bytes, Code, Count, DurationMs, EntityId, FreeText, Percent, UrlString } from './fields.ts';

/**
 * Form events are closed (`additionalProperties: false`): what a person typed must never leave the browser,
 * so a field's value cannot ride along under any key.
 */
const closed = { additionalProperties: false } as const;
const FormId = EntityId;
const FieldName = Type.String({ minLength: 1, maxLength: 256 });
/** The input's type attribute or widget kind (`text`, `email`, `password`, `select`, …). */
const FieldType = Type.String({ maxLength: 64 });

export const userEvents = {
  session_start: defineEvent({
    category: 'user',
    group: 'session',
    description: 'A session began (first event after none for the session timeout, or after login).',
    properties: Type.Object({
      landing_path: Type.Optional(UrlString),
      utm_source: Type.Optional(Code),
      utm_medium: Type.Optional(Code),
      utm_campaign: Type.Optional(Code),
    }),
    purposes: ['analytics'],
  }),
  session_end: defineEvent({
    category: 'user',
    group: 'session',
    description: 'A session ended, by logout, by inactivity timeout or by closing the app.',
    properties: Type.Object({
      duration_ms: DurationMs,
      reason: Type.Enum(['logout', 'timeout', 'closed']),
      event_count: Type.Optional(Count),
      page_view_count: Type.Optional(Count),
    }),
    purposes: ['analytics'],
  }),

  page_view: defineEvent({
    category: 'user',
    group: 'navigation',
    description: 'A page (or a client-side route) was shown. Segment `page` calls map onto this event.',
    properties: Type.Object({
      path: Type.Optional(UrlString),
      url: Type.Optional(UrlString),
      title: Type.Optional(Type.String({ maxLength: 1024 })),
      referrer: Type.Optional(UrlString),
      search: Type.Optional(UrlString),
      name: Type.Optional(Type.String({ maxLength: 256 })),
    }),
    purposes: ['analytics'],
  }),
  tab_switch: defineEvent({
    category: 'user',
    group: 'navigation',
    description: "The app's browser tab was hidden or shown again (visibilitychange).",
    properties: Type.Object({
      visibility: Type.Enum(['hidden', 'visible']),
      /** On `visible`: how long the tab had been hidden. */
      hidden_duration_ms: Type.Optional(DurationMs),
    }),
    purposes: ['analytics'],
  }),
  scroll_depth: defineEvent({
    category: 'user',
    group: 'navigation',
    description: 'The page was scrolled to a new deepest point (usually at 25/50/75/100 %).',
    properties: Type.Object({
      depth_percent: Percent,
      path: Type.Optional(UrlString),
    }),
    purposes: ['analytics'],
  }),
  link_click: defineEvent({
    category: 'user',
    group: 'navigation',
    description: 'A link was followed.',
    properties: Type.Object({
      href: UrlString,
      link_id: Type.Optional(EntityId),
      text: Type.Optional(Type.String({ maxLength: 256 })),
      outbound: Type.Optional(Type.Boolean()),
    }),
    purposes: ['analytics'],
  }),
  back_button: defineEvent({
    category: 'user',
    group: 'navigation',
    description: 'The browser history went back (popstate).',
    properties: Type.Object({
      from_path: Type.Optional(UrlString),
      to_path: Type.Optional(UrlString),
    }),
    purposes: ['analytics'],
  }),

  field_focus: defineEvent({
    category: 'user',
    group: 'form',
    description: 'A form field received focus.',
    properties: Type.Object(
      { form_id: FormId, field_name: FieldName, field_type: Type.Optional(FieldType) },
      closed,
    ),
    purposes: ['analytics'],
  }),
  field_blur: defineEvent({
    category: 'user',
    group: 'form',
    description: 'A form field lost focus.',
    properties: Type.Object(
      {
        form_id: FormId,
        field_name: FieldName,
        field_type: Type.Optional(FieldType),
        focus_duration_ms: Type.Optional(DurationMs),
        changed: Type.Optional(Type.Boolean()),
      },
      closed,
    ),
    purposes: ['analytics'],
  }),
  field_change: defineEvent({
    category: 'user',
    group: 'form',
    description: "A form field's value changed. Never carries the value, its length or any part of it.",
    properties: Type.Object(
      {
        form_id: FormId,
        field_name: FieldName,
        field_type: Type.Optional(FieldType),
        is_empty: Type.Optional(Type.Boolean()),
      },
      closed,
    ),
    purposes: ['analytics'],
  }),
  form_submit: defineEvent({
    category: 'user',
    group: 'form',
    description: 'A form was submitted.',
    properties: Type.Object(
      {
        form_id: FormId,
        success: Type.Optional(Type.Boolean()),
        field_count: Type.Optional(Count),
        error_count: Type.Optional(Count),
        /** From the first focus in the form to the submit. */
        duration_ms: Type.Optional(DurationMs),
      },
      closed,
    ),
    purposes: ['analytics'],
  }),
  validation_error: defineEvent({
    category: 'user',
    group: 'form',
    description:
      'A form field failed validation. Carries the rule, never the message (it may quote the value).',
    properties: Type.Object(
      {
        form_id: FormId,
        field_name: FieldName,
        field_type: Type.Optional(FieldType),
        /** e.g. `required`, `pattern`, `min_length`, `email`. */
        rule: Code,
      },
      closed,
    ),
    purposes: ['analytics'],
  }),

  document_create: defineEvent({
    category: 'user',
    group: 'document',
    description: 'A document was created.',
    properties: Type.Object({
      document_id: EntityId,
      document_type: Type.Optional(Code),
      source: Type.Optional(Type.Enum(['blank', 'template', 'import', 'ai', 'duplicate'])),
      template_id: Type.Optional(EntityId),
    }),
    purposes: ['analytics'],
  }),
  document_edit: defineEvent({
    category: 'user',
    group: 'document',
    description: 'A document was edited (one event per saved edit burst, not per keystroke).',
    properties: Type.Object({
      document_id: EntityId,
      chars_added: Type.Optional(Count),
      chars_removed: Type.Optional(Count),
      ai_assisted: Type.Optional(Type.Boolean()),
    }),
    purposes: ['analytics'],
  }),
  document_delete: defineEvent({
    category: 'user',
    group: 'document',
    description: 'A document was deleted (moved to trash, or permanently).',
    properties: Type.Object({
      document_id: EntityId,
      permanent: Type.Optional(Type.Boolean()),
    }),
    purposes: ['analytics'],
  }),
  document_share: defineEvent({
    category: 'user',
    group: 'document',
    description: 'A document was shared. Recipients are counted, never named.',
    properties: Type.Object({
      document_id: EntityId,
      method: Type.Enum(['link', 'email', 'user', 'team']),
      permission: Type.Enum(['view', 'comment', 'edit']),
      recipient_count: Type.Optional(Count),
    }),
    purposes: ['analytics'],
  }),
  document_export: defineEvent({
    category: 'user',
    group: 'document',
    description: 'A document was exported to a file.',
    properties: Type.Object({
      document_id: EntityId,
      /** e.g. `pdf`, `docx`, `md`, `html`. */
      format: Type.String({ minLength: 1, maxLength: 32 }),
      size_bytes: Type.Optional(Bytes),
    }),
    purposes: ['analytics'],
  }),
  document_version: defineEvent({
    category: 'user',
    group: 'document',
    description: 'Version control on a document: a version was saved, restored or compared.',
    properties: Type.Object({
      document_id: EntityId,
      action: Type.Enum(['save', 'restore', 'compare']),
      version: Type.Integer({ minimum: 1 }),
    }),
    purposes: ['analytics'],
  }),

  search_query: defineEvent({
    category: 'user',
    group: 'search',
    description: 'A search was run. `search_id` ties the filters, clicks and refinements that follow to it.',
    properties: Type.Object({
      search_id: EntityId,
      query_text: Type.Optional(FreeText),
      query_length: Count,
      result_count: Count,
      search_type: Type.Optional(Code),
    }),
    purposes: ['analytics'],
    sensitiveFields: ['query_text'],
  }),
  search_filter_applied: defineEvent({
    category: 'user',
    group: 'search',
    description: 'A filter was applied to (or removed from) a search.',
    properties: Type.Object({
      search_id: EntityId,
      filter_name: Code,
      filter_value: Type.Optional(Type.String({ maxLength: 256 })),
      removed: Type.Optional(Type.Boolean()),
      result_count: Type.Optional(Count),
    }),
    purposes: ['analytics'],
  }),
  search_result_clicked: defineEvent({
    category: 'user',
    group: 'search',
    description: 'A search result was opened.',
    properties: Type.Object({
      search_id: EntityId,
      result_id: EntityId,
      /** 1-based rank in the result list. */
      position: Type.Integer({ minimum: 1 }),
      result_type: Type.Optional(Code),
    }),
    purposes: ['analytics'],
  }),
  search_refinement: defineEvent({
    category: 'user',
    group: 'search',
    description:
      'A search was changed into a new one; `search_id` is the new search, `previous_search_id` the old.',
    properties: Type.Object({
      search_id: EntityId,
      previous_search_id: EntityId,
      refinement_type: Type.Enum(['add_terms', 'remove_terms', 'rephrase', 'spelling']),
      query_text: Type.Optional(FreeText),
      query_length: Type.Optional(Count),
    }),
    purposes: ['analytics'],
    sensitiveFields: ['query_text'],
  }),

  invite_sent: defineEvent({
    category: 'user',
    group: 'collaboration',
    description: "Someone was invited to a workspace or document. The invitee's address is never sent.",
    properties: Type.Object({
      invite_id: EntityId,
      channel: Type.Enum(['email', 'link']),
      role: Type.Optional(Code),
      document_id: Type.Optional(EntityId),
    }),
    purposes: ['analytics'],
  }),
  comment_added: defineEvent({
    category: 'user',
    group: 'collaboration',
    description: 'A comment was added to a document.',
    properties: Type.Object({
      comment_id: EntityId,
      document_id: EntityId,
      is_reply: Type.Optional(Type.Boolean()),
      comment_length: Type.Optional(Count),
      mention_count: Type.Optional(Count),
      comment_text: Type.Optional(FreeText),
    }),
    purposes: ['analytics'],
    sensitiveFields: ['comment_text'],
  }),
  mention: defineEvent({
    category: 'user',
    group: 'collaboration',
    description: 'Someone was @-mentioned in a document or comment.',
    properties: Type.Object({
      document_id: EntityId,
      comment_id: Type.Optional(EntityId),
      /** Another person's id: encrypted, since it is personal data of someone else. */
      mentioned_user_id: Type.Optional(EntityId),
    }),
    purposes: ['analytics'],
    sensitiveFields: ['mentioned_user_id'],
  }),
  real_time_edit: defineEvent({
    category: 'user',
    group: 'collaboration',
    description: 'A stretch of simultaneous editing of one document by several people ended.',
    properties: Type.Object({
      document_id: EntityId,
      collaborator_count: Type.Integer({ minimum: 1 }),
      duration_ms: DurationMs,
      edit_count: Type.Optional(Count),
    }),
    purposes: ['analytics'],
  }),
};
