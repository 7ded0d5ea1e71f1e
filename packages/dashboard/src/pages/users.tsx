/**
 * Users: one person's profile by user id (or anonymous id): activity, sessions, features, devices, the hours they
 * use the product, and their churn-risk score with its three signals.
 */
import { useApi } from '../api.ts';
import { Panel, Stat } from '../components/stat.tsx';
import { Async } from '../components/states.tsx';
import { NumCell } from '../components/table.tsx';
import { formatCount, formatDecimal, formatPercent, formatSeconds } from '../format.ts';
import type { PageProps } from '../page-props.ts';
import { withRange } from '../range.ts';
import { navigate } from '../router.tsx';
import type { UserProfile } from '../types.ts';

export default function Users({ pathname, search }: PageProps) {
  const person = decodeURIComponent(pathname.split('/')[2] ?? '');
  // A profile covers the person's whole history up to now, whatever the date range.
  const profile = useApi<UserProfile>(
    person ? `/api/v1/analytics/users/${encodeURIComponent(person)}/profile` : null,
  );
  return (
    <div className="page">
      <form
        className="toolbar"
        onSubmit={(event) => {
          event.preventDefault();
          const id = String(new FormData(event.currentTarget).get('person') ?? '').trim();
          if (id) navigate(withRange(`/users/${encodeURIComponent(id)}`, search));
        }}
      >
        <label className="wide">
          User id or anonymous id
          <input name="person" defaultValue={person} key={person} data-testid="user-lookup" required />
        </label>
        <button type="submit" className="primary">
          Look up
        </button>
      </form>
      {person ? (
        <Async loaded={profile}>{(data) => <ProfileView profile={data} />}</Async>
      ) : (
        <p className="hint">
          Enter the id your product sends as userId, e.g. from an event in the warehouse.
        </p>
      )}
    </div>
  );
}

const hoursOfDay = Array.from({ length: 24 }, (_, hour) => hour);

function ProfileView({ profile }: { profile: UserProfile }) {
  const risk = profile.churnRisk;
  const maxHour = Math.max(1, ...profile.hourlyEvents);
  return (
    <div className="page" data-testid="profile" data-person={profile.person}>
      <div className="cards four">
        <Stat
          label="Churn risk"
          value={risk.score}
          text={formatPercent(risk.score, 0)}
          testId="profile-churn-risk"
          hint={`recency ${formatDecimal(risk.recency)}, decline ${formatDecimal(risk.decline)}, billing ${formatDecimal(risk.billing)}`}
        />
        <Stat
          label="Sessions"
          value={profile.totalSessions}
          format={formatCount}
          testId="profile-sessions"
          hint={`average ${formatSeconds(profile.avgSessionSeconds)}`}
        />
        <Stat
          label="Daily usage"
          value={profile.avgDailyUsageMinutes}
          text={
            profile.avgDailyUsageMinutes === null ? '–' : `${formatDecimal(profile.avgDailyUsageMinutes)} min`
          }
          testId="profile-daily-usage"
        />
        <Stat
          label="Feature adoption"
          value={profile.featureAdoptionRate}
          format={formatPercent}
          testId="profile-adoption"
        />
      </div>
      <div className="split-even">
        <Panel title="Who">
          <table className="table">
            <tbody>
              <tr>
                <th>Account type</th>
                <td data-testid="profile-account-type">{profile.accountType ?? '–'}</td>
              </tr>
              <tr>
                <th>Created</th>
                <td>{profile.created?.slice(0, 16).replace('T', ' ') ?? '–'}</td>
              </tr>
              <tr>
                <th>Last active</th>
                <td data-testid="profile-last-active">
                  {profile.lastActive?.slice(0, 16).replace('T', ' ') ?? '–'}
                </td>
              </tr>
              <tr>
                <th>Language, time zone</th>
                <td>
                  {profile.preferredLanguage ?? '–'}, {profile.timezone ?? '–'}
                </td>
              </tr>
              <tr>
                <th>Devices</th>
                <td>{describeCounts(profile.devices)}</td>
              </tr>
              <tr>
                <th>Browsers</th>
                <td>{describeCounts(profile.browsers)}</td>
              </tr>
            </tbody>
          </table>
        </Panel>
        <Panel title="Most used features">
          <table className="table" data-testid="profile-features">
            <tbody>
              {profile.mostUsedFeatures.length === 0 ? (
                <tr>
                  <td>No feature_used events.</td>
                </tr>
              ) : (
                profile.mostUsedFeatures.map((f) => (
                  <tr key={f.feature}>
                    <td>{f.feature}</td>
                    <NumCell>{formatCount(f.uses)}</NumCell>
                  </tr>
                ))
              )}
            </tbody>
          </table>
        </Panel>
      </div>
      <Panel title="Events by hour of day (UTC)">
        <div className="hours" role="img" aria-label="Events per hour of day">
          {hoursOfDay.map((hour) => (
            <div
              key={hour}
              className="hour"
              title={`${hour}:00 UTC: ${formatCount(profile.hourlyEvents[hour])} events`}
            >
              <div
                className="hour-bar"
                style={{ height: `${((profile.hourlyEvents[hour] ?? 0) / maxHour) * 100}%` }}
              />
              <span>{hour}</span>
            </div>
          ))}
        </div>
      </Panel>
    </div>
  );
}

function describeCounts(counts: Record<string, number>): string {
  const entries = Object.entries(counts).sort((a, b) => b[1] - a[1]);
  return entries.length ? entries.map(([name, n]) => `${name} (${formatCount(n)})`).join(', ') : '–';
}
