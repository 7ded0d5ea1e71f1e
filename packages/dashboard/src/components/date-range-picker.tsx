/** The global date range: a preset, or a custom pair of UTC dates; kept in the query string. */
import { type DateRange, presets } from '../range.ts';
import { setSearchParams } from '../router.tsx';

const day = (iso: string) => iso.slice(0, 10);

export function DateRangePicker({ range }: { range: DateRange }) {
  const setCustom = (from: string, to: string) => {
    if (!from || !to || from >= to) return;
    setSearchParams({ range: null, from: `${from}T00:00:00.000Z`, to: `${to}T00:00:00.000Z` });
  };
  return (
    <div className="range-picker" data-testid="range" data-from={range.from} data-to={range.to}>
      <select
        aria-label="Date range"
        value={range.preset ?? 'custom'}
        onChange={(event) => {
          const value = event.target.value;
          if (value === 'custom') setCustom(day(range.from), day(range.to));
          else setSearchParams({ range: value, from: null, to: null });
        }}
      >
        {presets.map((preset) => (
          <option key={preset.id} value={preset.id}>
            {preset.label}
          </option>
        ))}
        <option value="custom">Custom (UTC days)</option>
      </select>
      {range.preset === null && (
        <>
          <input
            type="date"
            aria-label="From"
            value={day(range.from)}
            onChange={(event) => setCustom(event.target.value, day(range.to))}
          />
          <span aria-hidden="true">→</span>
          <input
            type="date"
            aria-label="To (exclusive)"
            value={day(range.to)}
            onChange={(event) => setCustom(day(range.from), event.target.value)}
          />
        </>
      )}
    </div>
  );
}
