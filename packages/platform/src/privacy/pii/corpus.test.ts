/**
 * Precision and recall of the recognizers per PII type on the labelled corpus (`corpus/pii-corpus.jsonl`: true
 * PII of each type in varied formats, and near misses: Luhn-invalid cards, timestamps, order ids, versions,
 * UUIDs, phone-like ids, zip codes). A detection counts when its type and its exact text match a label.
 *
 * Thresholds: precision ≥ 0.95, because a false positive destroys analytic data (an order id masked is an order
 * id lost); recall ≥ 0.95, because a miss is PII on disk. Free-text recognition is a second line of defence
 * behind the field rules (fields named `email`, `phone`, `prompt_text` … are handled by name), so a few misses
 * in prose are tolerable where a field rule is not.
 */
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { detectInField, detectSpans, type PiiType, piiTypes } from './recognizers.ts';

interface CorpusLine {
  field?: string;
  text: string;
  pii: { type: PiiType; value: string }[];
}

const corpus: CorpusLine[] = fs
  .readFileSync(new URL('./corpus/pii-corpus.jsonl', import.meta.url), 'utf8')
  .split('\n')
  .filter((line) => line.trim() !== '')
  .map((line) => JSON.parse(line) as CorpusLine);

interface Score {
  truePositives: number;
  falsePositives: number;
  falseNegatives: number;
}

function evaluate(): { scores: Record<PiiType, Score>; mistakes: string[] } {
  const scores = Object.fromEntries(
    piiTypes.map((type) => [type, { truePositives: 0, falsePositives: 0, falseNegatives: 0 }]),
  ) as Record<PiiType, Score>;
  const mistakes: string[] = [];
  for (const line of corpus) {
    const detections =
      line.field === undefined ? detectSpans(line.text) : detectInField(line.field, line.text);
    const found = detections.map((d) => `${d.type}\0${line.text.slice(d.start, d.end)}`);
    const expected = line.pii.map((p) => `${p.type}\0${p.value}`);
    for (const key of found) {
      const type = key.split('\0')[0] as PiiType;
      if (expected.includes(key)) scores[type].truePositives++;
      else {
        scores[type].falsePositives++;
        mistakes.push(`false positive ${key.replace('\0', ' ')} in ${JSON.stringify(line.text)}`);
      }
    }
    for (const key of expected) {
      if (!found.includes(key)) {
        scores[key.split('\0')[0] as PiiType].falseNegatives++;
        mistakes.push(`missed ${key.replace('\0', ' ')} in ${JSON.stringify(line.text)}`);
      }
    }
  }
  return { scores, mistakes };
}

describe('recognizers on the labelled corpus', () => {
  const { scores, mistakes } = evaluate();
  const ratio = (a: number, b: number) => (b === 0 ? 1 : a / b);
  const table = piiTypes.map((type) => {
    const s = scores[type];
    return {
      type,
      labelled: s.truePositives + s.falseNegatives,
      precision: Number(ratio(s.truePositives, s.truePositives + s.falsePositives).toFixed(3)),
      recall: Number(ratio(s.truePositives, s.truePositives + s.falseNegatives).toFixed(3)),
    };
  });

  it('has a few hundred lines with every type labelled and near misses beside them', () => {
    console.table(table);
    if (mistakes.length) console.log(mistakes.join('\n'));
    expect(corpus.length).toBeGreaterThanOrEqual(300);
    expect(corpus.filter((line) => line.pii.length === 0).length).toBeGreaterThanOrEqual(100);
    for (const row of table) expect(row.labelled, row.type).toBeGreaterThanOrEqual(8);
  });

  it.each(piiTypes)('reaches precision ≥ 0.95 and recall ≥ 0.95 for %s', (type) => {
    const row = table.find((r) => r.type === type)!;
    expect(row.precision).toBeGreaterThanOrEqual(0.95);
    expect(row.recall).toBeGreaterThanOrEqual(0.95);
  });
});
