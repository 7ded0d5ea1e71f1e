/**
 * The masking formats of the reference (§7.1 `PIIMaskingEngine.mask_data`): a masked value keeps at most a hint
 * (a few leading letters of an email, the last four digits of a number, the first part of an address, initials)
 * and is never itself detected as PII again. Where §7.1's lambdas would leak on short input (`x[:3]` of `jo@x.io`
 * is `jo@`), the hint shrinks: never more than half of an email's local part.
 */
import type { PiiType } from './recognizers.ts';

/** What stands in for a value of a type the format does not know, or for a field masked by rule. */
export const fullMask = '***';

/** The masked form of a value detected as `type`, in §7.1's format. */
export function maskValue(type: PiiType, value: string): string {
  switch (type) {
    case 'email':
      return maskEmail(value);
    case 'phone':
      return `***-***-${lastDigits(value, 4)}`;
    case 'ssn':
      return `***-**-${lastDigits(value, 4)}`;
    case 'credit_card':
      return `****-****-****-${lastDigits(value, 4)}`;
    case 'ip_address':
      return maskIp(value);
    case 'person_name':
      return maskName(value);
    case 'date_of_birth':
      return '**/**/****';
  }
}

/** `jane.doe@example.com` → `jan***@***.***` (§7.1: the first three characters), at most half the local part. */
function maskEmail(value: string): string {
  const local = value.trim().split('@')[0] ?? '';
  const keep = Math.min(3, Math.floor(local.length / 2));
  return `${local.slice(0, keep)}***@***.***`;
}

/** The last `count` digits; fewer when the value has fewer than twice as many (so most of it stays hidden). */
function lastDigits(value: string, count: number): string {
  const digits = value.replace(/\D/g, '');
  return digits.slice(digits.length - Math.min(count, Math.floor(digits.length / 2)));
}

/** `203.0.113.7` → `203.***.***.***` (§7.1); IPv6 the same way: the first group, the rest starred. */
function maskIp(value: string): string {
  const ip = value.trim();
  if (ip.includes(':')) {
    const first = ip.split(':')[0] || '0';
    return `${first}:****:****:****:****:****:****:****`;
  }
  return `${ip.split('.')[0]}.***.***.***`;
}

/** `Jane Q. Doe` → `J*** D***` (§7.1: the initials of the first and last word). */
function maskName(value: string): string {
  const words = value.trim().split(/\s+/).filter(Boolean);
  if (words.length === 0) return fullMask;
  const initial = (word: string) => `${String.fromCodePoint(word.codePointAt(0)!)}***`;
  return words.length === 1 ? initial(words[0]!) : `${initial(words[0]!)} ${initial(words.at(-1)!)}`;
}
