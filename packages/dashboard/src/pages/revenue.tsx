/**
 * Revenue from the subscription events: MRR, ARR, MRR churn, net revenue retention and lifetime value, the MRR
 * movements per month, and trial-to-paid.
 */
import { useApi } from '../api.ts';
import { Chart, type ChartOption } from '../components/chart.tsx';
import { Panel, Stat } from '../components/stat.tsx';
import { Async } from '../components/states.tsx';
import { NumCell, numeric, Table } from '../components/table.tsx';
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
  const trial = data.trialToPaid;
  const customers = data.lifetimeValue.reduce((sum, s) => sum + s.customers, 0);
  const ltv =
    customers > 0
      ? data.lifetimeValue.reduce((sum, s) => sum + s.avgLifetimeValue * s.customers, 0) / customers
      : null;
  return (
    <>
      <div className="cards five">
        <Stat label="MRR" value={last?.mrr} format={formatMoney} testId="revenue-mrr" />
        <Stat label="ARR" value={last?.arr} format={formatMoney} testId="revenue-arr" />
        <Stat
          label="MRR churn (latest month)"
          value={last?.churnRate}
          format={formatPercent}
          testId="revenue-churn"
          hint={last ? `${formatCount(last.churnedCustomers)} customers left` : undefined}
        />
        <Stat
          label="Net revenue retention"
          value={last?.netRevenueRetention}
          format={formatPercent}
          testId="revenue-nrr"
        />
        <Stat
          label="Lifetime value (all plans)"
          value={ltv}
          format={formatMoney}
          testId="revenue-ltv"
          hint={`customers with payments: ${formatCount(customers)}`}
        />
      </div>
      <Panel title="MRR by month">
        <Chart option={mrrOption(data)} height={240} testId="revenue-chart" />
        <Table testId="revenue-months" columns={monthColumns} scroll>
          {data.months.map((m) => (
            <tr key={m.month} data-month={m.month}>
              <td>{m.month.slice(0, 7)}</td>
              <NumCell testId="month-mrr">{formatMoney(m.mrr)}</NumCell>
              <NumCell>{formatMoney(m.newMrr)}</NumCell>
              <NumCell>{formatMoney(m.expansionMrr)}</NumCell>
              <NumCell>{formatMoney(m.contractionMrr)}</NumCell>
              <NumCell>{formatMoney(m.churnedMrr)}</NumCell>
              <NumCell>{formatMoney(m.reactivationMrr)}</NumCell>
              <NumCell testId="month-customers">{formatCount(m.customers)}</NumCell>
              <NumCell>{formatPercent(m.churnRate)}</NumCell>
              <NumCell>{formatPercent(m.netRevenueRetention)}</NumCell>
            </tr>
          ))}
        </Table>
      </Panel>
      <div className="split-even">
        <Panel title="Lifetime value by plan">
          <Table testId="revenue-ltv-table" columns={ltvColumns}>
            {data.lifetimeValue.map((s) => (
              <tr key={s.segment} data-segment={s.segment}>
                <td>{s.segment}</td>
                <NumCell>{formatCount(s.customers)}</NumCell>
                <NumCell testId="segment-ltv">{formatMoney(s.avgLifetimeValue)}</NumCell>
                <NumCell>{formatDecimal(s.avgLifetimeMonths)}</NumCell>
              </tr>
            ))}
          </Table>
        </Panel>
        <Panel title="Trial to paid">
          <div className="cards three">
            <Stat label="Trials" value={trial.trials} format={formatCount} testId="revenue-trials" />
            <Stat label="Converted" value={trial.converted} format={formatCount} testId="revenue-converted" />
            <Stat label="Rate" value={trial.rate} format={formatPercent} testId="revenue-trial-rate" />
          </div>
        </Panel>
      </div>
    </>
  );
}

const monthColumns = [
  'Month',
  ...numeric('MRR', 'New', 'Expansion', 'Contraction', 'Churned', 'Reactivated', 'Customers', 'Churn', 'NRR'),
];

const ltvColumns = ['Plan', ...numeric('Customers', 'Average LTV', 'Average months')];

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
