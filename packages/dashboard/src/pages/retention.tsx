/**
 * Retention: weekly signup cohorts and the share of each that came back in week N, as a heatmap table
 * (darker is more), optionally split by a property of the signup such as the plan.
 */
import { useApi } from '../api.ts';
import { InputField, SelectField, withoutSpaces } from '../components/field.tsx';
import { Panel } from '../components/stat.tsx';
import { Async } from '../components/states.tsx';
import { NumCell, numeric, Table } from '../components/table.tsx';
import { formatCount, formatPercent } from '../format.ts';
import type { PageProps } from '../page-props.ts';
import type { Retention as RetentionAnswer } from '../types.ts';

export default function Retention({ range, search }: PageProps) {
  const segmentBy = search.get('segmentBy') ?? '';
  const cohortEvent = search.get('cohortEvent') ?? '';
  const weeks = search.get('weeks') ?? '';
  const retention = useApi<RetentionAnswer>('/api/v1/analytics/retention', {
    from: range.from,
    to: range.to,
    segmentBy,
    cohortEvent,
    weeks,
  });
  return (
    <div className="page">
      <div className="toolbar">
        <InputField label="Cohort event" param="cohortEvent" value={cohortEvent} placeholder="signup" />
        <InputField
          label="Weeks"
          param="weeks"
          value={weeks}
          placeholder="1,2,4,8,12"
          clean={withoutSpaces}
        />
        <SelectField label="Segment by" param="segmentBy" value={segmentBy}>
          <option value="">(none)</option>
          <option value="plan">plan</option>
        </SelectField>
      </div>
      <Async
        loaded={retention}
        isEmpty={(data) => data.cohorts.length === 0}
        empty="No signups in this date range."
      >
        {(data) => (
          <Panel title="Weekly cohorts">
            <Table
              testId="retention-table"
              className="heatmap"
              columns={[
                'Cohort week',
                ...(segmentBy ? [segmentBy] : []),
                ...numeric('People', ...data.weeks.map((week) => <>Week {week}</>)),
              ]}
            >
              {data.cohorts.map((cohort) => (
                <tr
                  key={`${cohort.week}-${cohort.segment}`}
                  data-cohort={cohort.week}
                  data-segment={cohort.segment ?? ''}
                >
                  <td>{cohort.week.slice(0, 10)}</td>
                  {segmentBy && <td>{cohort.segment ?? '(none)'}</td>}
                  <NumCell testId="cohort-size">{formatCount(cohort.size)}</NumCell>
                  {cohort.retained.map((cell) => (
                    <td
                      key={cell.week}
                      className="num cell"
                      data-testid={`retained-week-${cell.week}`}
                      style={cellStyle(cell.rate)}
                      title={cell.people === null ? 'not yet observed' : `${formatCount(cell.people)} people`}
                    >
                      {cell.rate === null ? '' : formatPercent(cell.rate)}
                    </td>
                  ))}
                </tr>
              ))}
            </Table>
            <p className="hint">
              Share of each cohort with any return event in week N after its signup week; blank: not yet
              observed.
            </p>
          </Panel>
        )}
      </Async>
    </div>
  );
}

function cellStyle(rate: number | null) {
  if (rate === null) return { background: 'transparent' };
  return {
    background: `rgba(59, 99, 209, ${(0.08 + rate * 0.85).toFixed(3)})`,
    color: rate > 0.5 ? '#fff' : undefined,
  };
}
