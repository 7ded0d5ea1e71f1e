/**
 * Funnels: the built-in trial-to-paid and onboarding funnels, or any steps, with each step's people,
 * conversion from the start and from the step before, drop-off and median time from the step before.
 */
import { useApi } from '../api.ts';
import { BreakdownField, InputField, withoutSpaces } from '../components/field.tsx';
import { Panel } from '../components/stat.tsx';
import { Async } from '../components/states.tsx';
import { NumCell, numeric, Table } from '../components/table.tsx';
import { formatCount, formatPercent, formatSeconds } from '../format.ts';
import type { PageProps } from '../page-props.ts';
import { setSearchParams } from '../router.tsx';
import type { Funnel } from '../types.ts';

const funnelKinds = [
  { id: 'trial-to-paid', label: 'Trial to paid', path: '/api/v1/analytics/funnels/trial-to-paid' },
  { id: 'onboarding', label: 'Onboarding', path: '/api/v1/analytics/funnels/onboarding' },
  { id: 'custom', label: 'Custom steps', path: '/api/v1/analytics/funnels' },
];

const defaultWindowHours = 336;

export default function Funnels({ range, search }: PageProps) {
  const kind = funnelKinds.find((k) => k.id === search.get('funnel')) ?? funnelKinds[0]!;
  const steps = search.get('steps') ?? '';
  const windowHours = Number(search.get('windowHours')) || defaultWindowHours;
  const breakdown = search.get('breakdown') ?? '';
  const ready = kind.id !== 'custom' || steps.split(',').filter(Boolean).length >= 2;
  const funnel = useApi<Funnel>(ready ? kind.path : null, {
    from: range.from,
    to: range.to,
    windowHours,
    breakdown,
    steps: kind.id === 'custom' ? steps : undefined,
  });

  return (
    <div className="page">
      <div className="toolbar">
        <div className="segmented" role="tablist" aria-label="Funnel">
          {funnelKinds.map((k) => (
            <button
              key={k.id}
              type="button"
              role="tab"
              aria-selected={k.id === kind.id}
              data-testid={`funnel-${k.id}`}
              onClick={() => setSearchParams({ funnel: k.id })}
            >
              {k.label}
            </button>
          ))}
        </div>
        {kind.id === 'custom' && (
          <InputField
            label="Steps (event names, comma-separated)"
            className="wide"
            param="steps"
            value={steps}
            placeholder="signup,first_login,first_action"
            testId="funnel-steps"
            clean={withoutSpaces}
            commitOnEnter
          />
        )}
        <InputField label="Window (hours)" param="windowHours" value={windowHours} type="number" min={1} />
        <BreakdownField value={breakdown} />
      </div>
      {!ready ? (
        <p className="hint">
          Name at least two steps, e.g. signup,first_login,first_action, then press Enter.
        </p>
      ) : (
        <Async
          loaded={funnel}
          isEmpty={(data) => data.breakdowns.every((b) => (b.steps[0]?.count ?? 0) === 0)}
        >
          {(data) => (
            <>
              {data.breakdowns.map((b) => (
                <Panel
                  key={String(b.breakdownValue)}
                  title={breakdown ? `${breakdown} = ${b.breakdownValue ?? '(none)'}` : kind.label}
                >
                  <FunnelTable steps={b.steps} />
                </Panel>
              ))}
            </>
          )}
        </Async>
      )}
    </div>
  );
}

const stepColumns = [
  'Step',
  { className: 'bar-cell', ariaLabel: 'Conversion from the start' },
  ...numeric('People', 'From start', 'From previous', 'Dropped off', 'Median time from previous'),
];

function FunnelTable({ steps }: { steps: Funnel['breakdowns'][number]['steps'] }) {
  return (
    <Table testId="funnel-steps-table" className="funnel" columns={stepColumns}>
      {steps.map((step, i) => (
        <tr key={step.event} data-step={step.event}>
          <td>
            {i + 1}. {step.event}
          </td>
          <td className="bar-cell">
            <div className="bar" style={{ width: `${(step.conversionFromStart * 100).toFixed(1)}%` }} />
          </td>
          <NumCell testId="step-count">{formatCount(step.count)}</NumCell>
          <NumCell testId="step-from-start">{formatPercent(step.conversionFromStart)}</NumCell>
          <NumCell testId="step-from-previous">{formatPercent(step.conversionFromPrevious)}</NumCell>
          <NumCell testId="step-drop-off">{i === 0 ? '' : formatCount(step.dropOff)}</NumCell>
          <NumCell>{formatSeconds(step.medianSecondsFromPrevious)}</NumCell>
        </tr>
      ))}
    </Table>
  );
}
