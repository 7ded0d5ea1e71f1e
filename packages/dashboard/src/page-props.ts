/** What the shell gives every page. */
import type { DateRange } from './range.ts';

export interface PageProps {
  range: DateRange;
  /** The query string: pages keep their own choices there (event, interval, breakdown, …). */
  search: URLSearchParams;
  pathname: string;
}
