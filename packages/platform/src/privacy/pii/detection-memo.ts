/**
 * What the recognizers find in a field's value, for the PII walk: first a check that needs no memo (a value with
 * no `@`, no `:` and fewer than four digits holds no span, so only a field named for a person or a birth date can
 * find anything in it), then the detections remembered per field name and value. Field name and value are looked
 * up one after the other, rather than as one joined string: a string from the request already carries its hash,
 * while a joined one would be built and hashed for every value.
 */
import { type Detection, detectInField, fieldType, mayHoldSpans } from './recognizers.ts';

/** Values up to this length are remembered (user agents, URLs, emails repeat); longer ones are scanned each time. */
const memoMaxLength = 512;
/** Field names and values remembered in all; the memo is emptied when full (one miss per entry, no LRU upkeep). */
const memoEntries = 10_000;

const none: readonly Detection[] = Object.freeze([]);

interface FieldMemo {
  /** Whether the field's name makes its whole value a detection (a person's name, a birth date). */
  readonly named: boolean;
  readonly values: Map<string, readonly Detection[]>;
}

export class DetectionMemo {
  readonly #threshold: number;
  /** By field name, for fields where a bare `name` is a person and for the others. */
  readonly #personFields = new Map<string, FieldMemo>();
  readonly #otherFields = new Map<string, FieldMemo>();
  #entries = 0;

  constructor(threshold: number) {
    this.#threshold = threshold;
  }

  /** `detectInField(key, value, { threshold, personNameKey })`, shared arrays: do not change them. */
  detect(key: string, value: string, personNameKey: boolean): readonly Detection[] {
    const field = this.#field(key, personNameKey);
    if (!field.named && !mayHoldSpans(value)) return none;
    if (value.length > memoMaxLength) return this.#scan(key, value, personNameKey);
    let found = field.values.get(value);
    if (found === undefined) {
      found = this.#scan(key, value, personNameKey);
      if (this.#entries >= memoEntries) this.#clear();
      // Cleared or not, the field's entry is (again) in its map: a value never lands in a detached one.
      this.#field(key, personNameKey).values.set(value, found);
      this.#entries++;
    }
    return found;
  }

  #field(key: string, personNameKey: boolean): FieldMemo {
    const fields = personNameKey ? this.#personFields : this.#otherFields;
    let field = fields.get(key);
    if (field === undefined) {
      const type = fieldType(key, personNameKey);
      field = { named: type === 'person_name' || type === 'date_of_birth', values: new Map() };
      if (this.#entries >= memoEntries) this.#clear();
      (personNameKey ? this.#personFields : this.#otherFields).set(key, field);
      this.#entries++;
    }
    return field;
  }

  #scan(key: string, value: string, personNameKey: boolean): readonly Detection[] {
    return detectInField(key, value, { threshold: this.#threshold, personNameKey });
  }

  #clear(): void {
    this.#personFields.clear();
    this.#otherFields.clear();
    this.#entries = 0;
  }
}
