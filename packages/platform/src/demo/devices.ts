/** The browsers, screens and places of the demo's users: a handful of real user agents and time zones. */

export interface Size {
  readonly width: number;
  readonly height: number;
}

export interface Device {
  readonly userAgent: string;
  readonly screen: Size;
  readonly viewport: Size;
  readonly mobile: boolean;
}

/** Shares roughly as a B2B web app sees them: desktop Chrome first, a tail of mobile. */
export const devices: readonly (readonly [Device, number])[] = [
  [
    {
      userAgent:
        'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
      screen: { width: 1920, height: 1080 },
      viewport: { width: 1903, height: 961 },
      mobile: false,
    },
    30,
  ],
  [
    {
      userAgent:
        'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
      screen: { width: 1512, height: 982 },
      viewport: { width: 1512, height: 865 },
      mobile: false,
    },
    18,
  ],
  [
    {
      userAgent:
        'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15',
      screen: { width: 1440, height: 900 },
      viewport: { width: 1440, height: 789 },
      mobile: false,
    },
    12,
  ],
  [
    {
      userAgent:
        'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0',
      screen: { width: 1920, height: 1080 },
      viewport: { width: 1872, height: 955 },
      mobile: false,
    },
    10,
  ],
  [
    {
      userAgent: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0',
      screen: { width: 1536, height: 864 },
      viewport: { width: 1519, height: 731 },
      mobile: false,
    },
    8,
  ],
  [
    {
      userAgent: 'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0',
      screen: { width: 2560, height: 1440 },
      viewport: { width: 2543, height: 1289 },
      mobile: false,
    },
    4,
  ],
  [
    {
      userAgent:
        'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1',
      screen: { width: 390, height: 844 },
      viewport: { width: 390, height: 664 },
      mobile: true,
    },
    9,
  ],
  [
    {
      userAgent:
        'Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36',
      screen: { width: 412, height: 915 },
      viewport: { width: 412, height: 789 },
      mobile: true,
    },
    6,
  ],
  [
    {
      userAgent:
        'Mozilla/5.0 (iPad; CPU OS 17_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.7 Mobile/15E148 Safari/604.1',
      screen: { width: 820, height: 1180 },
      viewport: { width: 820, height: 1056 },
      mobile: true,
    },
    3,
  ],
];

/** What an attacker's script sends; used for the brute-force attempts. */
export const scriptUserAgents = ['python-requests/2.31.0', 'curl/8.5.0', 'Go-http-client/1.1'] as const;

export interface Place {
  readonly timeZone: string;
  readonly locale: string;
  /** ISO 3166-1 alpha-2, the billing country. */
  readonly country: string;
}

export const places: readonly (readonly [Place, number])[] = [
  [{ timeZone: 'America/New_York', locale: 'en-US', country: 'US' }, 18],
  [{ timeZone: 'America/Chicago', locale: 'en-US', country: 'US' }, 8],
  [{ timeZone: 'America/Los_Angeles', locale: 'en-US', country: 'US' }, 12],
  [{ timeZone: 'America/Toronto', locale: 'en-CA', country: 'CA' }, 4],
  [{ timeZone: 'America/Sao_Paulo', locale: 'pt-BR', country: 'BR' }, 4],
  [{ timeZone: 'Europe/London', locale: 'en-GB', country: 'GB' }, 10],
  [{ timeZone: 'Europe/Berlin', locale: 'de-DE', country: 'DE' }, 9],
  [{ timeZone: 'Europe/Paris', locale: 'fr-FR', country: 'FR' }, 6],
  [{ timeZone: 'Europe/Madrid', locale: 'es-ES', country: 'ES' }, 3],
  [{ timeZone: 'Africa/Lagos', locale: 'en-NG', country: 'NG' }, 2],
  [{ timeZone: 'Asia/Kolkata', locale: 'en-IN', country: 'IN' }, 8],
  [{ timeZone: 'Asia/Singapore', locale: 'en-SG', country: 'SG' }, 3],
  [{ timeZone: 'Asia/Tokyo', locale: 'ja-JP', country: 'JP' }, 4],
  [{ timeZone: 'Asia/Seoul', locale: 'ko-KR', country: 'KR' }, 2],
  [{ timeZone: 'Australia/Sydney', locale: 'en-AU', country: 'AU' }, 4],
];

const offsetCache = new Map<string, number>();
const formatters = new Map<string, Intl.DateTimeFormat>();

/** Minutes east of UTC in `timeZone` at `atMs` (daylight saving included), cached by zone and hour. */
export function utcOffsetMinutes(timeZone: string, atMs: number): number {
  const key = `${timeZone}@${Math.floor(atMs / 3_600_000)}`;
  let offset = offsetCache.get(key);
  if (offset === undefined) {
    let formatter = formatters.get(timeZone);
    if (formatter === undefined) {
      formatter = new Intl.DateTimeFormat('en-US', { timeZone, timeZoneName: 'longOffset' });
      formatters.set(timeZone, formatter);
    }
    const name = formatter.formatToParts(atMs).find((part) => part.type === 'timeZoneName')?.value ?? 'GMT';
    const match = /GMT([+-])(\d{2}):(\d{2})/.exec(name);
    offset = match ? (match[1] === '-' ? -1 : 1) * (Number(match[2]) * 60 + Number(match[3])) : 0;
    if (offsetCache.size > 50_000) offsetCache.clear();
    offsetCache.set(key, offset);
  }
  return offset;
}
