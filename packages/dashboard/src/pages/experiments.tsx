/**
 * Experiments: those with exposures in the range, and for the chosen one each variant's people, conversions and
 * rate, lift over the control with its 95% interval and significance, and the sample-ratio check.
 */
import { useApi } from '../api.ts';
import { InputField } from '../components/field.tsx';
import { Panel, Stat } from '../components/stat.tsx';
import { Async } from '../components/states.tsx';
import { NumCell, numeric, Table } from '../components/table.tsx';
import { formatChange, formatCount, formatDecimal, formatPercent } from '../format.ts';
import type { PageProps } from '../page-props.ts';
import { withRange } from '../range.ts';
import { Link } from '../router.tsx';
import type { Experiment, ExperimentList } from '../types.ts';

export default function Experiments({ range, search, pathname }: PageProps) {
  const list = useApi<ExperimentList>('/api/v1/analytics/experiments', { from: range.from, to: range.to });
  const chosen = decodeURIComponent(pathname.split('/')[2] ?? '') || list.data?.experiments[0]?.name;
  return (
    <div className="page">
      <Async
        loaded={list}
        isEmpty={(data) => data.experiments.length === 0}
        empty={
          <>
            No experiments in this date range. An experiment appears when its exposures arrive as{' '}
            <code>experiment_exposure</code> events with the properties <code>experiment</code> and{' '}
            <code>variant</code>.
          </>
        }
      >
        {(data) => (
          <div className="split">
            <Panel title="Experiments">
              <ul className="pick-list" data-testid="experiment-list">
                {data.experiments.map((experiment) => (
                  <li key={experiment.name}>
                    <Link
                      to={withRange(`/experiments/${encodeURIComponent(experiment.name)}`, search)}
                      aria-current={experiment.name === chosen ? 'page' : undefined}
                    >
                      <strong>{experiment.name}</strong>
                      <span>
                        {formatCount(experiment.users)} people, {experiment.variants.length} variants
                      </span>
                    </Link>
                  </li>
                ))}
              </ul>
            </Panel>
            {chosen && <ExperimentDetail name={chosen} range={range} search={search} />}
          </div>
        )}
      </Async>
    </div>
  );
}

const variantColumns = [
  'Variant',
  ...numeric('People', 'Conversions', 'Rate', 'Lift', '95% interval of the difference', 'p-value'),
  'Result',
];

function ExperimentDetail({ name, range, search }: { name: string } & Pick<PageProps, 'range' | 'search'>) {
  const conversionEvent = search.get('conversionEvent') ?? '';
  const experiment = useApi<Experiment>(`/api/v1/analytics/experiments/${encodeURIComponent(name)}`, {
    from: range.from,
    to: range.to,
    conversionEvent,
  });
  return (
    <Panel
      title={name}
      actions={
        <InputField
          label="Conversion event"
          className="inline"
          param="conversionEvent"
          value={conversionEvent}
          placeholder="subscription_complete"
        />
      }
    >
      <Async loaded={experiment}>
        {(data) => (
          <div data-testid="experiment-detail" data-experiment={data.name}>
            {data.sampleRatio.mismatch && (
              <p className="state state-error" role="alert" data-testid="srm-warning">
                Sample-ratio mismatch: the split differs from the plan (χ² ={' '}
                {formatDecimal(data.sampleRatio.chiSquare)}, p = {data.sampleRatio.pValue.toExponential(2)}).
                Do not trust this comparison until the assignment is fixed.
              </p>
            )}
            <Table testId="variant-table" columns={variantColumns}>
              {data.variants.map((variant) => (
                <tr key={variant.name} data-variant={variant.name}>
                  <td>
                    {variant.name}
                    {variant.name === data.control && <span className="tag">control</span>}
                  </td>
                  <NumCell testId="variant-users">{formatCount(variant.users)}</NumCell>
                  <NumCell testId="variant-conversions">{formatCount(variant.conversions)}</NumCell>
                  <NumCell testId="variant-rate">{formatPercent(variant.rate, 2)}</NumCell>
                  <NumCell testId="variant-lift">
                    {variant.vsControl ? formatChange(variant.vsControl.relativeLift) : ''}
                  </NumCell>
                  <NumCell>
                    {variant.vsControl
                      ? `${formatChange(variant.vsControl.ci95[0], 2)} to ${formatChange(variant.vsControl.ci95[1], 2)}`
                      : ''}
                  </NumCell>
                  <NumCell testId="variant-p">
                    {variant.vsControl ? formatDecimal(variant.vsControl.pValue) : ''}
                  </NumCell>
                  <td data-testid="variant-significant">
                    {variant.vsControl
                      ? variant.vsControl.significant
                        ? 'significant'
                        : 'not significant'
                      : ''}
                  </td>
                </tr>
              ))}
            </Table>
            <div className="cards three">
              <Stat
                label="Sample-ratio check (χ²)"
                value={data.sampleRatio.chiSquare}
                format={formatDecimal}
                testId="srm-chi-square"
                hint={
                  data.sampleRatio.mismatch
                    ? 'mismatch'
                    : `p = ${formatDecimal(data.sampleRatio.pValue)}, split as planned`
                }
              />
              <Stat
                label="Conversion event"
                value={null}
                text={data.conversionEvent}
                testId="conversion-event"
              />
            </div>
          </div>
        )}
      </Async>
    </Panel>
  );
}
