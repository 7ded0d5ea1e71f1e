/**
 * AI interaction events (reference §1.1 "ai_interactions", §2.3). One prompt has one `prompt_id`; each answer
 * to it a `response_id`. §2.3's per-response record is a join: `response_received` gives the model, tokens,
 * time and confidence, `ai_feedback` the rating, and a `response_edited` for the response makes
 * `edited_by_user` true; regeneration rate is `response_regenerated` over `response_received`.
 * Texts people write or read are sensitive fields (§2.3 `prompt_text: text (encrypted)`).
 */
import Type from 'typebox';
import { defineEvent } from './definition.ts';
import { Code, Count, DurationMs, FreeText, Score, Uuid } from './fields.ts';

/** The model's name as the provider spells it, e.g. `gpt-4o`, `claude-sonnet-4`. */
const Model = Type.String({ minLength: 1, maxLength: 128 });

export const aiEvents = {
  prompt_submission: defineEvent({
    category: 'ai',
    group: 'ai_interaction',
    description: 'A person sent a prompt to a model.',
    properties: Type.Object({
      prompt_id: Uuid,
      model_used: Model,
      /** In characters. */
      prompt_length: Count,
      prompt_text: Type.Optional(FreeText),
      conversation_id: Type.Optional(Type.String({ maxLength: 256 })),
      /** Where the prompt was written: `editor`, `chat`, `search`, … */
      context: Type.Optional(Code),
      language: Type.Optional(Type.String({ maxLength: 35 })),
      /** Derived server-side by classifiers (§2.3), when available. */
      intent: Type.Optional(Type.Array(Code, { maxItems: 16 })),
      prompt_complexity: Type.Optional(Score),
      sentiment_score: Type.Optional(Type.Number({ minimum: -1, maximum: 1 })),
    }),
    purposes: ['analytics'],
    sensitiveFields: ['prompt_text'],
  }),
  response_received: defineEvent({
    category: 'ai',
    group: 'ai_interaction',
    description:
      'A model finished answering a prompt (or failed to). On failure the token counts are what was billed.',
    properties: Type.Object({
      prompt_id: Uuid,
      response_id: Uuid,
      model_used: Model,
      success: Type.Boolean(),
      /** From the prompt's submission to the last token. */
      generation_time_ms: DurationMs,
      time_to_first_token_ms: Type.Optional(DurationMs),
      prompt_tokens: Count,
      completion_tokens: Count,
      confidence_score: Type.Optional(Score),
      /** e.g. `stop`, `length`, `content_filter`. */
      finish_reason: Type.Optional(Code),
      error_type: Type.Optional(Code),
      response_text: Type.Optional(FreeText),
    }),
    purposes: ['analytics'],
    sensitiveFields: ['response_text'],
  }),
  ai_feedback: defineEvent({
    category: 'ai',
    group: 'ai_interaction',
    description: 'A person rated, corrected or flagged a response.',
    properties: Type.Object({
      response_id: Uuid,
      prompt_id: Type.Optional(Uuid),
      rating: Type.Optional(Type.Integer({ minimum: 1, maximum: 5 })),
      flag_inappropriate: Type.Optional(Type.Boolean()),
      /** True when the feedback carries a correction of the answer. */
      correction: Type.Optional(Type.Boolean()),
      correction_text: Type.Optional(FreeText),
      comment: Type.Optional(FreeText),
    }),
    purposes: ['analytics'],
    sensitiveFields: ['correction_text', 'comment'],
  }),
  response_regenerated: defineEvent({
    category: 'ai',
    group: 'ai_interaction',
    description:
      'A person asked for another answer to the same prompt; the new answer gets its own response.',
    properties: Type.Object({
      prompt_id: Uuid,
      /** The answer being replaced. */
      response_id: Uuid,
      model_used: Type.Optional(Model),
      /** 2 for the first regeneration, 3 for the next, … */
      attempt: Type.Integer({ minimum: 2 }),
    }),
    purposes: ['analytics'],
  }),
  response_edited: defineEvent({
    category: 'ai',
    group: 'ai_interaction',
    description: 'A person edited a generated answer before using it (§2.3 `edited_by_user`).',
    properties: Type.Object({
      response_id: Uuid,
      prompt_id: Type.Optional(Uuid),
      chars_added: Type.Optional(Count),
      chars_removed: Type.Optional(Count),
      edited_text: Type.Optional(FreeText),
    }),
    purposes: ['analytics'],
    sensitiveFields: ['edited_text'],
  }),
};
