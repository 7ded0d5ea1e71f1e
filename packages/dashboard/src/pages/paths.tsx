/**
 * Paths: what sessions did after (or before) an anchor event, step by step, as an ECharts Sankey diagram, with
 * each step's sessions and drop-off and the most common whole paths.
 */
import { SankeyChart } from 'echarts/charts';
import { use } from 'echarts/core';
import { useApi } from '../api.ts';
import { Chart, type ChartOption } from '../components/chart.tsx';
import { InputField, SelectField } from '../components/field.tsx';
import { Panel, Stat } from '../components/stat.tsx';
import { Async } from '../components/states.tsx';
import { NumCell, numeric, Table } from '../components/table.tsx';
import { formatCount } from '../format.ts';
import type { PageProps } from '../page-props.ts';
import type { Paths as PathsAnswer } from '../types.ts';

use([SankeyChart]);

const defaultAnchor = 'session_start';

export default function Paths({ range, search }: PageProps) {
  const event = search.get('event') || defaultAnchor;
  const direction = search.get('direction') === 'before' ? 'before' : 'after';
  const depth = Number(search.get('depth')) || 3;
  const paths = useApi<PathsAnswer>('/api/v1/analytics/paths', {
    event,
    direction,
    depth,
    from: range.from,
    to: range.to,
  });
  return (
    <div className="page">
      <div className="toolbar">
        <InputField label="Anchor event" param="event" value={event} testId="paths-event" commitOnEnter />
        <SelectField label="Direction" param="direction" value={direction}>
          <option value="after">after the event</option>
          <option value="before">before the event</option>
        </SelectField>
        <SelectField label="Steps" param="depth" value={depth}>
          {[1, 2, 3, 4, 5, 6].map((n) => (
            <option key={n}>{n}</option>
          ))}
        </SelectField>
      </div>
      <Async
        loaded={paths}
        isEmpty={(data) => data.sessions === 0}
        empty={`No session holds ${event} in this date range.`}
      >
        {(data) => (
          <>
            <div className="cards four">
              <Stat
                label={`Sessions with ${data.event}`}
                value={data.sessions}
                format={formatCount}
                testId="paths-sessions"
              />
              {data.steps
                .filter((s) => s.step !== 0)
                .slice(0, 3)
                .map((s) => (
                  <Stat
                    key={s.step}
                    label={`Step ${s.step}`}
                    value={s.sessions}
                    format={formatCount}
                    testId={`paths-step-${s.step}`}
                    hint={`${formatCount(s.dropOff)} dropped off`}
                  />
                ))}
            </div>
            <Panel title={`Paths ${data.direction} ${data.event}`}>
              <Chart option={sankeyOption(data)} height={380} testId="paths-sankey" />
            </Panel>
            <Panel title="Most common paths">
              <TopPaths paths={data.paths} />
            </Panel>
          </>
        )}
      </Async>
    </div>
  );
}

const topPathColumns = ['Path', ...numeric('Sessions')];

/** The most common whole paths, with their sessions. */
function TopPaths({ paths }: { paths: PathsAnswer['paths'] }) {
  return (
    <Table testId="top-paths" columns={topPathColumns}>
      {paths.slice(0, 10).map((p) => (
        <tr key={p.events.join('>')}>
          <td className="wrap">{p.events.join(' → ')}</td>
          <NumCell testId="path-sessions">{formatCount(p.sessions)}</NumCell>
        </tr>
      ))}
    </Table>
  );
}

function sankeyOption(data: PathsAnswer): ChartOption {
  return {
    tooltip: { trigger: 'item' },
    series: [
      {
        type: 'sankey',
        left: 8,
        right: 140,
        top: 8,
        bottom: 8,
        nodeGap: 10,
        emphasis: { focus: 'adjacency' },
        lineStyle: { color: 'gradient', opacity: 0.35 },
        // Node ids are `<step>:<event>`; the label shows the event.
        label: { fontSize: 11, formatter: (p: { name: string }) => p.name.slice(p.name.indexOf(':') + 1) },
        data: data.nodes.map((node) => ({ name: node.id, value: node.sessions })),
        links: data.links.map((link) => ({ source: link.source, target: link.target, value: link.sessions })),
      },
    ],
  };
}
