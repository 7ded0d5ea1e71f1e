/**
 * Revenue from the subscription events: MRR, ARR, MRR churn, net revenue retention and lifetime value, the MRR
 * movements per month, and trial-to-paid.
 */
import { useApi } from '../api.ts';
import { Chart, type ChartOption } from '../components/chart.tsx';
import { Panel, Stat } from '../components/stat.tsx';
import { Async } from '../components/states.tsx';
import { formatCount, formatDecimal, formatMoney, formatPercent } from '../format.ts';
import type { PageProps } from '../page-props.ts';
import type { Revenue as RevenueAnswer } from '../types.ts';

export default function Revenue({ range }: PageProps) {
  const revenue = useApi<RevenueAnswer>('/api/v1/analytics/revenue', { from: range.from, to: range.to });
  return (
    <div className="page">
      <Async
        loaded={revenue}
        isEmpty={(data) =>
          data.months.every((m) => m.mrr === 0 && m.startMrr === 0) && data.trialToPaid.trials === 0
        }
        empty="No subscriptions or trials in this date range."
      >
        {(data) => <RevenueView data={data} />}
      </Async>
    </div>
  );
}

function RevenueView({ data }: { data: RevenueAnswer }) {
  const last = data.months.at(-1);
  const customers = data.lifetimeValue.reduce((sum, s) => sum + s.customers, 0);
  const ltv =
    customers > 0
      ? data.lifetimeValue.reduce((sum, s) => sum + s.avgLifetimeValue * s.customers, 0) / customers
      : null;
  return (
    <>
      <div className="cards five">
        <Stat label="MRR" value={last?.mrr} text={formatMoney(last?.mrr)} testId="revenue-mrr" />
        <Stat label="ARR" value={last?.arr} text={formatMoney(last?.arr)} testId="revenue-arr" />
        <Stat
          label="MRR churn (latest month)"
          value={last?.churnRate}
          text={formatPercent(last?.churnRate)}
          testId="revenue-churn"
          hint={last ? `${formatCount(last.churnedCustomers)} customers left` : undefined}
        />
        <Stat
          label="Net revenue retention"
          value={last?.netRevenueRetention}
          text={formatPercent(last?.netRevenueRetention)}
          testId="revenue-nrr"
        />
        <Stat
          label="Lifetime value (all plans)"
          value={ltv}
          text={formatMoney(ltv)}
          testId="revenue-ltv"
          hint={`customers with payments: ${formatCount(customers)}`}
        />
      </div>
      <Panel title="MRR by month">
        <Chart option={mrrOption(data)} height={240} testId="revenue-chart" />
        <div className="table-scroll">
          <table className="table" data-testid="revenue-months">
            <thead>
              <tr>
                <th>Month</th>
                <th className="num">MRR</th>
                <th className="num">New</th>
                <th className="num">Expansion</th>
                <th className="num">Contraction</th>
                <th className="num">Churned</th>
                <th className="num">Reactivated</th>
                <th className="num">Customers</th>
                <th className="num">Churn</th>
                <th className="num">NRR</th>
              </tr>
            </thead>
            <tbody>
              {data.months.map((m) => (
                <tr key={m.month} data-month={m.month}>
                  <td>{m.month.slice(0, 7)}</td>
                  <td className="num" data-testid="month-mrr">
                    {formatMoney(m.mrr)}
                  </td>
                  <td className="num">{formatMoney(m.newMrr)}</td>
                  <td className="num">{formatMoney(m.expansionMrr)}</td>
                  <td className="num">{formatMoney(m.contractionMrr)}</td>
                  <td className="num">{formatMoney(m.churnedMrr)}</td>
                  <td className="num">{formatMoney(m.reactivationMrr)}</td>
                  <td className="num" data-testid="month-customers">
                    {formatCount(m.customers)}
                  </td>
                  <td className="num">{formatPercent(m.churnRate)}</td>
                  <td className="num">{formatPercent(m.netRevenueRetention)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </Panel>
      <div className="split-even">
        <Panel title="Lifetime value by plan">
          <table className="table" data-testid="revenue-ltv-table">
            <thead>
              <tr>
                <th>Plan</th>
                <th className="num">Customers</th>
                <th className="num">Average LTV</th>
                <th className="num">Average months</th>
              </tr>
            </thead>
            <tbody>
              {data.lifetimeValue.map((s) => (
                <tr key={s.segment} data-segment={s.segment}>
                  <td>{s.segment}</td>
                  <td className="num">{formatCount(s.customers)}</td>
                  <td className="num" data-testid="segment-ltv">
                    {formatMoney(s.avgLifetimeValue)}
                  </td>
                  <td className="num">{formatDecimal(s.avgLifetimeMonths)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </Panel>
        <Panel title="Trial to paid">
          <div className="cards three">
            <Stat
              label="Trials"
              value={data.trialToPaid.trials}
              text={formatCount(data.trialToPaid.trials)}
              testId="revenue-trials"
            />
            <Stat
              label="Converted"
              value={data.trialToPaid.converted}
              text={formatCount(data.trialToPaid.converted)}
              testId="revenue-converted"
            />
            <Stat
              label="Rate"
              value={data.trialToPaid.rate}
              text={formatPercent(data.trialToPaid.rate)}
              testId="revenue-trial-rate"
            />
          </div>
        </Panel>
      </div>
    </>
  );
}

function mrrOption(data: RevenueAnswer): ChartOption {
  return {
    tooltip: { trigger: 'axis' },
    grid: { left: 64, right: 16, top: 16, bottom: 28 },
    xAxis: { type: 'category', data: data.months.map((m) => m.month.slice(0, 7)) },
    yAxis: { type: 'value' },
    series: [
      { type: 'line', name: 'MRR', areaStyle: { opacity: 0.15 }, data: data.months.map((m) => m.mrr) },
    ],
  };
}
