/**
 * AI: prompts per day by model, and per model the answers' success rate, generation latency (mean and p95),
 * output tokens per second, regeneration and edit rates, and feedback ratings.
 */
import { useApi } from '../api.ts';
import { Chart, type ChartOption } from '../components/chart.tsx';
import { Panel, Stat } from '../components/stat.tsx';
import { Async } from '../components/states.tsx';
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
                <Stat label="Prompts" value={prompts} text={formatCount(prompts)} testId="ai-prompts" />
                <Stat
                  label="Responses"
                  value={responses}
                  text={formatCount(responses)}
                  testId="ai-responses"
                />
                <Stat
                  label="Models"
                  value={data.models.length}
                  text={formatCount(data.models.length)}
                  testId="ai-models"
                />
              </div>
              <Panel title="Prompts per day">
                <Chart option={promptsOption(data)} height={220} testId="ai-chart" />
              </Panel>
              <Panel title="Per model">
                <div className="table-scroll">
                  <table className="table" data-testid="ai-table">
                    <thead>
                      <tr>
                        <th>Model</th>
                        <th className="num">Prompts</th>
                        <th className="num">Responses</th>
                        <th className="num">Success</th>
                        <th className="num">Mean latency</th>
                        <th className="num">p95 latency</th>
                        <th className="num">Tokens/s</th>
                        <th className="num">Regenerated</th>
                        <th className="num">Edited</th>
                        <th className="num">Rating</th>
                      </tr>
                    </thead>
                    <tbody>
                      {data.models.map((m) => (
                        <tr key={m.model} data-model={m.model}>
                          <td>{m.model}</td>
                          <td className="num" data-testid="model-prompts">
                            {formatCount(m.prompts)}
                          </td>
                          <td className="num" data-testid="model-responses">
                            {formatCount(m.responses)}
                          </td>
                          <td className="num" data-testid="model-success">
                            {formatPercent(m.successRate)}
                          </td>
                          <td className="num">{formatMs(m.avgLatencyMs)}</td>
                          <td className="num" data-testid="model-p95">
                            {formatMs(m.p95LatencyMs)}
                          </td>
                          <td className="num">{formatDecimal(m.tokensPerSecond)}</td>
                          <td className="num">{formatPercent(m.regenerationRate)}</td>
                          <td className="num">{formatPercent(m.editRate)}</td>
                          <td className="num" data-testid="model-rating">
                            {m.avgRating === null
                              ? '–'
                              : `${formatDecimal(m.avgRating)} (${formatCount(m.ratings)})`}
                          </td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
              </Panel>
            </>
          );
        }}
      </Async>
    </div>
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
