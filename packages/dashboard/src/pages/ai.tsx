/**
 * AI: prompts per day by model, and per model the answers' success rate, generation latency (mean and p95),
 * output tokens per second, regeneration and edit rates, and feedback ratings.
 */
import { useApi } from '../api.ts';
import { Chart, type ChartOption } from '../components/chart.tsx';
import { Panel, Stat } from '../components/stat.tsx';
import { Async } from '../components/states.tsx';
import { NumCell, numeric, Table } from '../components/table.tsx';
import { formatCount, formatDecimal, formatMs, formatPercent } from '../format.ts';
import type { PageProps } from '../page-props.ts';
import type { AiMetrics } from '../types.ts';

export default function Ai({ range }: PageProps) {
  const ai = useApi<AiMetrics>('/api/v1/analytics/ai', { from: range.from, to: range.to });
  return (
    <div className="page">
      <Async
        loaded={ai}
        isEmpty={(data) => data.models.length === 0}
        empty={
          <>
            No AI events in this date range (<code>prompt_submission</code>, <code>response_received</code>).
          </>
        }
      >
        {(data) => {
          const prompts = data.models.reduce((sum, m) => sum + m.prompts, 0);
          const responses = data.models.reduce((sum, m) => sum + m.responses, 0);
          return (
            <>
              <div className="cards three">
                <Stat label="Prompts" value={prompts} format={formatCount} testId="ai-prompts" />
                <Stat label="Responses" value={responses} format={formatCount} testId="ai-responses" />
                <Stat label="Models" value={data.models.length} format={formatCount} testId="ai-models" />
              </div>
              <Panel title="Prompts per day">
                <Chart option={promptsOption(data)} height={220} testId="ai-chart" />
              </Panel>
              <Panel title="Per model">
                <ModelTable models={data.models} />
              </Panel>
            </>
          );
        }}
      </Async>
    </div>
  );
}

const modelColumns = [
  'Model',
  ...numeric(
    'Prompts',
    'Responses',
    'Success',
    'Mean latency',
    'p95 latency',
    'Tokens/s',
    'Regenerated',
    'Edited',
    'Rating',
  ),
];

/** Per model: volume, success, latency, speed, regenerations, edits and ratings. */
function ModelTable({ models }: { models: AiMetrics['models'] }) {
  return (
    <Table testId="ai-table" columns={modelColumns} scroll>
      {models.map((m) => (
        <tr key={m.model} data-model={m.model}>
          <td>{m.model}</td>
          <NumCell testId="model-prompts">{formatCount(m.prompts)}</NumCell>
          <NumCell testId="model-responses">{formatCount(m.responses)}</NumCell>
          <NumCell testId="model-success">{formatPercent(m.successRate)}</NumCell>
          <NumCell>{formatMs(m.avgLatencyMs)}</NumCell>
          <NumCell testId="model-p95">{formatMs(m.p95LatencyMs)}</NumCell>
          <NumCell>{formatDecimal(m.tokensPerSecond)}</NumCell>
          <NumCell>{formatPercent(m.regenerationRate)}</NumCell>
          <NumCell>{formatPercent(m.editRate)}</NumCell>
          <NumCell testId="model-rating">
            {m.avgRating === null ? '–' : `${formatDecimal(m.avgRating)} (${formatCount(m.ratings)})`}
          </NumCell>
        </tr>
      ))}
    </Table>
  );
}

function promptsOption(data: AiMetrics): ChartOption {
  const models = data.models.map((m) => m.model);
  return {
    tooltip: { trigger: 'axis' },
    legend: { top: 0, type: 'scroll' },
    grid: { left: 48, right: 16, top: 32, bottom: 28 },
    xAxis: { type: 'category', data: data.promptsPerDay.map((d) => d.day.slice(0, 10)) },
    yAxis: { type: 'value', minInterval: 1 },
    series: models.map((model) => ({
      type: 'line',
      name: model,
      stack: 'prompts',
      areaStyle: { opacity: 0.2 },
      showSymbol: false,
      data: data.promptsPerDay.map((d) => d.byModel[model] ?? 0),
    })),
  };
}
