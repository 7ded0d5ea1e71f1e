/**
 * The example page of `/example`: the browser SDK loaded from `/sdk/`, buttons that track registered events, a
 * form for field autocapture, a consent switch, and a panel of what the platform stored for this visitor. Plain
 * HTML with its CSS and script inline, so that "view source" shows all of it.
 */

export interface ExamplePageInput {
  /** The example source's write key: send-only, like the key in any analytics snippet. */
  writeKey: string;
  /** The origins the example source accepts events from. */
  allowedOrigins: string[];
  /** The Content-Security-Policy nonce of this answer. */
  nonce: string;
}

/** The page script, plain ES2020 for any current browser. It uses no backticks or placeholders of its own. */
const pageScript = `
(() => {
  const $ = (id) => document.getElementById(id);
  const config = JSON.parse($('example-config').textContent);
  const banner = (text) => {
    $('banner').textContent = text;
    $('banner').hidden = false;
  };
  for (const node of document.querySelectorAll('[data-origin]')) node.textContent = location.origin;
  if (!window.deepref) {
    banner('The SDK did not load from /sdk/deepref.iife.js. Build it with "npm run build -w @deepref/browser" and reload.');
    return;
  }
  if (!config.allowedOrigins.includes(location.origin)) {
    banner('This page is open at ' + location.origin + ', but the example source takes events only from ' +
      config.allowedOrigins.join(', ') + '. Open the page at one of those.');
  }

  // This page sends every second, so that a click shows up quickly; the default (every 5 s) suits a real site.
  deepref.init({ writeKey: config.writeKey, flushIntervalMs: 1000 });

  // Registered events of the taxonomy, with properties their schemas accept.
  const uuid = () => {
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
    return [h.slice(0, 8), h.slice(8, 12), h.slice(12, 16), h.slice(16, 20), h.slice(20)].join('-');
  };
  let documents = 0;
  let searches = 0;
  const examples = {
    prompt: () => ['prompt_submission', { prompt_id: uuid(), model_used: 'claude-sonnet-4', prompt_length: 38, context: 'chat' }],
    document: () => ['document_create', { document_id: 'doc-' + ++documents, document_type: 'note', source: 'template', template_id: 'meeting-notes' }],
    search: () => ['search_query', { search_id: 'search-' + ++searches, query_length: 14, result_count: 7, search_type: 'documents' }],
  };
  for (const button of document.querySelectorAll('[data-track]')) {
    button.addEventListener('click', () => {
      const [name, properties] = examples[button.dataset.track]();
      deepref.track(name, properties);
    });
  }

  $('trial-form').addEventListener('submit', (event) => {
    event.preventDefault();
    $('form-note').textContent = 'Submitted: form_submit carries the form and field count, never what you typed.';
  });

  // The page remembers the visitor's choice itself, as a consent banner does; until there is one, the SDK's
  // default holds (analytics granted, unless the browser sends Global Privacy Control or Do Not Track).
  const choiceKey = 'deepref-example:analytics';
  const stored = (() => {
    try {
      return localStorage.getItem(choiceKey);
    } catch {
      return null;
    }
  })();
  const signal = navigator.globalPrivacyControl === true || navigator.doNotTrack === '1';
  const toggle = $('analytics');
  toggle.checked = stored ? stored === 'granted' : !signal;
  if (stored) deepref.setConsent({ analytics: toggle.checked });
  const showConsent = () => {
    $('consent-state').textContent = toggle.checked
      ? 'Granted: events that need analytics are sent.'
      : 'Denied: events that need analytics are dropped in the browser, counted, never sent.';
  };
  toggle.addEventListener('change', () => {
    deepref.setConsent({ analytics: toggle.checked });
    try {
      localStorage.setItem(choiceKey, toggle.checked ? 'granted' : 'denied');
    } catch {}
    showConsent();
  });
  showConsent();

  const showStats = () => {
    const stats = deepref.stats();
    if (!stats) return;
    $('stat-tracked').textContent = stats.tracked;
    $('stat-delivered').textContent = stats.delivered;
    $('stat-consent').textContent = stats.dropped.consent;
  };

  const shown = (value) => {
    const text = typeof value === 'string' ? value : JSON.stringify(value);
    return text.length > 80 ? text.slice(0, 79) + '…' : text;
  };
  const element = (tag, className, text) => {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  };
  const seen = new Set();
  let firstRender = true;
  let shownIds;
  const render = (events) => {
    // Redrawn only when the events changed, so that text stays selectable between polls.
    const ids = events.map((event) => event.eventId).join();
    if (ids === shownIds) return;
    shownIds = ids;
    const list = $('events');
    list.replaceChildren();
    $('empty').hidden = events.length > 0;
    $('event-count').textContent = events.length ? events.length + (events.length === 1 ? ' event' : ' events') : '';
    for (const event of events) {
      const item = element('li', 'event');
      item.dataset.eventId = event.eventId;
      item.dataset.eventName = event.eventName;
      if (!firstRender && !seen.has(event.eventId)) item.classList.add('fresh');
      seen.add(event.eventId);
      const head = element('div', 'event-head');
      head.append(element('span', 'event-name', event.eventName));
      head.append(element('time', 'event-time', new Date(event.timestamp).toLocaleTimeString()));
      item.append(head);
      const properties = Object.entries(event.properties);
      if (properties.length) {
        const list = element('dl', 'props');
        for (const [key, value] of properties) {
          const pair = element('div', 'prop');
          pair.dataset.prop = key;
          pair.append(element('dt', '', key), element('dd', '', shown(value)));
          list.append(pair);
        }
        item.append(list);
      }
      list.append(item);
    }
    firstRender = false;
  };

  const refresh = async () => {
    const anonymousId = deepref.anonymousId();
    $('anonymous-id').textContent = anonymousId;
    showStats();
    try {
      const answer = await fetch('/example/events?anonymousId=' + encodeURIComponent(anonymousId), { cache: 'no-store' });
      if (!answer.ok) throw new Error('the platform answered ' + answer.status);
      render((await answer.json()).events);
      $('live').className = 'live';
      $('live-text').textContent = 'live';
    } catch (error) {
      $('live').className = 'live down';
      $('live-text').textContent = 'offline: ' + error.message;
    }
    setTimeout(refresh, 1500);
  };
  refresh();
})();
`;

const styles = `
:root {
  color-scheme: light dark;
  --bg: #f4f5fa; --card: #ffffff; --ink: #171a2e; --muted: #5f6480; --line: #e2e4ee;
  --accent: #4f46e5; --accent-ink: #ffffff; --accent-soft: #eef0ff; --ok: #12a150; --bad: #d13c3c;
  --code-bg: #111427; --code-ink: #dfe3ff; --chip: #f2f3f8; --warn-bg: #fff7e6; --warn-ink: #8a5300;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #0c0e1a; --card: #151829; --ink: #eceefa; --muted: #9aa0bf; --line: #272b45;
    --accent: #8c85ff; --accent-ink: #0c0e1a; --accent-soft: #22244a; --chip: #1d2036;
    --code-bg: #0a0c17; --warn-bg: #3a2a0c; --warn-ink: #ffd68a;
  }
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--ink);
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", sans-serif; }
code, pre, .mono { font-family: ui-monospace, "SF Mono", "Cascadia Code", Menlo, Consolas, monospace; font-size: 13px; }
header { max-width: 1200px; margin: 0 auto; padding: 28px 24px 8px; display: flex; align-items: center; gap: 14px; }
.mark { width: 34px; height: 34px; border-radius: 10px; background: linear-gradient(135deg, #6d5cff, #22c1c3); flex: none; }
h1 { font-size: 20px; margin: 0; letter-spacing: -0.01em; }
header p { margin: 0; color: var(--muted); font-size: 14px; }
.live { margin-left: auto; display: inline-flex; align-items: center; gap: 8px; padding: 6px 12px; border-radius: 999px;
  background: var(--card); border: 1px solid var(--line); font-size: 13px; color: var(--muted); white-space: nowrap; }
.live::before { content: ""; width: 8px; height: 8px; border-radius: 50%; background: var(--ok); box-shadow: 0 0 0 3px rgb(18 161 80 / 20%); }
.live.down::before { background: var(--bad); box-shadow: 0 0 0 3px rgb(209 60 60 / 20%); }
#banner { max-width: 1152px; margin: 12px auto 0; padding: 12px 16px; border-radius: 10px; background: var(--warn-bg); color: var(--warn-ink); }
main { max-width: 1200px; margin: 0 auto; padding: 16px 24px 40px; display: grid; gap: 20px;
  grid-template-columns: minmax(0, 1fr) minmax(0, 1.05fr); align-items: start; }
@media (max-width: 900px) { main { grid-template-columns: minmax(0, 1fr); } }
.column { display: grid; gap: 20px; grid-template-columns: minmax(0, 1fr); }
.wide-card { grid-column: 1 / -1; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 14px; padding: 20px 22px;
  box-shadow: 0 1px 2px rgb(23 26 46 / 5%); }
.card h2 { font-size: 16px; margin: 0 0 4px; }
.card > p { margin: 0 0 16px; color: var(--muted); font-size: 14px; }
.card code { background: var(--chip); padding: 1px 5px; border-radius: 5px; }
.actions { display: grid; gap: 10px; }
.action { display: flex; align-items: center; gap: 14px; }
.action .what { color: var(--muted); font-size: 13px; line-height: 1.35; }
.action .what code { color: var(--ink); }
button { font: inherit; font-weight: 600; font-size: 14px; border: 0; border-radius: 9px; padding: 9px 14px; cursor: pointer;
  background: var(--accent); color: var(--accent-ink); min-width: 164px; flex: none; white-space: nowrap; transition: transform .06s ease, filter .15s ease; }
button:hover { filter: brightness(1.08); }
button:active { transform: translateY(1px); }
button:focus-visible, input:focus-visible, select:focus-visible { outline: 3px solid var(--accent-soft); outline-offset: 1px; }
form { display: grid; grid-template-columns: 1fr 1fr; gap: 12px 14px; }
label { display: grid; gap: 4px; font-size: 13px; font-weight: 600; color: var(--muted); }
input, select { font: inherit; font-size: 14px; color: var(--ink); background: var(--bg); border: 1px solid var(--line);
  border-radius: 8px; padding: 8px 10px; width: 100%; }
form .wide { grid-column: 1 / -1; }
form .submit { display: flex; align-items: center; gap: 12px; }
#form-note { color: var(--muted); font-size: 13px; }
.switch { display: flex; align-items: center; gap: 12px; cursor: pointer; }
.switch input { appearance: none; width: 42px; height: 24px; padding: 0; border-radius: 999px; background: var(--line);
  position: relative; cursor: pointer; transition: background .15s ease; border: 0; flex: none; }
.switch input::after { content: ""; position: absolute; top: 3px; left: 3px; width: 18px; height: 18px; border-radius: 50%;
  background: #fff; transition: transform .15s ease; box-shadow: 0 1px 2px rgb(0 0 0 / 25%); }
.switch input:checked { background: var(--ok); }
.switch input:checked::after { transform: translateX(18px); }
.switch span { font-weight: 600; }
#consent-state { color: var(--muted); font-size: 13px; margin: 8px 0 14px; }
.stats { display: grid; grid-template-columns: repeat(3, 1fr); gap: 10px; }
.stat { background: var(--chip); border-radius: 10px; padding: 10px 12px; }
.stat b { display: block; font-size: 20px; }
.stat span { color: var(--muted); font-size: 12px; }
.panel { position: sticky; top: 16px; }
.panel-head { display: flex; align-items: baseline; gap: 10px; }
.panel-head small { color: var(--muted); margin-left: auto; }
#events { list-style: none; margin: 0; padding: 0; display: grid; gap: 8px; max-height: calc(100vh - 210px); overflow: auto; }
.event { border: 1px solid var(--line); border-radius: 10px; padding: 10px 12px; }
.event.fresh { animation: arrive 1.6s ease-out; }
@keyframes arrive { from { background: var(--accent-soft); border-color: var(--accent); } }
.event-head { display: flex; align-items: baseline; gap: 10px; }
.event-name { font-family: ui-monospace, "SF Mono", Menlo, Consolas, monospace; font-weight: 700; font-size: 13.5px; color: var(--accent); }
.event-time { margin-left: auto; color: var(--muted); font-size: 12px; }
.props { display: flex; flex-wrap: wrap; gap: 6px; margin: 8px 0 0; }
.prop { display: inline-flex; max-width: 100%; border-radius: 6px; overflow: hidden; font-size: 12px;
  font-family: ui-monospace, "SF Mono", Menlo, Consolas, monospace; }
.prop dt { background: var(--chip); color: var(--muted); padding: 2px 6px; }
.prop dd { margin: 0; padding: 2px 6px; background: var(--accent-soft); overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
#empty { color: var(--muted); font-size: 14px; border: 1px dashed var(--line); border-radius: 10px; padding: 18px; margin: 0; }
.who { color: var(--muted); font-size: 12px; margin: 12px 0 0; }
pre { background: var(--code-bg); color: var(--code-ink); border-radius: 10px; padding: 14px 16px; overflow: auto; margin: 0;
  line-height: 1.55; font-size: 12.5px; }
pre .c { color: #8088b5; }
`;

function scriptSafeJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c');
}

export function renderExamplePage({ writeKey, allowedOrigins, nonce }: ExamplePageInput): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>DeepRef · example</title>
<link rel="icon" href="data:,">
<style nonce="${nonce}">${styles}</style>
</head>
<body>
<header>
  <div class="mark" aria-hidden="true"></div>
  <div>
    <h1>DeepRef example</h1>
    <p>This page uses the browser SDK. Click, type, and watch what the platform stores.</p>
  </div>
  <span id="live" class="live"><span id="live-text">connecting…</span></span>
</header>
<div id="banner" role="alert" hidden></div>
<main>
  <div class="column">
    <section class="card">
      <h2>Track events</h2>
      <p>Each button calls <code>deepref.track(name, properties)</code> with an event of the taxonomy. The collector
        checks its properties against the event's schema.</p>
      <div class="actions">
        <div class="action">
          <button type="button" data-track="prompt">Submit a prompt</button>
          <div class="what"><code>prompt_submission</code>: model, prompt length, context. The prompt's text is a
            sensitive field and is not sent.</div>
        </div>
        <div class="action">
          <button type="button" data-track="document">Create a document</button>
          <div class="what"><code>document_create</code>: document id and type, made from a template.</div>
        </div>
        <div class="action">
          <button type="button" data-track="search">Run a search</button>
          <div class="what"><code>search_query</code>: query length and result count, not the query.</div>
        </div>
      </div>
    </section>
    <section class="card">
      <h2>Autocapture</h2>
      <p>Nothing to call: moving through the fields records <code>field_focus</code>, <code>field_change</code> and
        <code>field_blur</code>, and submitting records <code>form_submit</code>. What you type never leaves the page.</p>
      <form id="trial-form" name="trial" autocomplete="off">
        <label>Name<input name="name" placeholder="Ada Lovelace"></label>
        <label>Work email<input name="email" type="email" placeholder="ada@example.com"></label>
        <label class="wide">Plan<select name="plan">
          <option value="free">Free</option><option value="team" selected>Team</option><option value="enterprise">Enterprise</option>
        </select></label>
        <div class="wide submit"><button type="submit">Start a trial</button><span id="form-note"></span></div>
      </form>
    </section>
    <section class="card" data-deepref-ignore>
      <h2>Consent</h2>
      <p><code>deepref.setConsent({ analytics })</code> decides what may leave the browser; the choice is remembered.
        This card has <code>data-deepref-ignore</code>, which keeps autocapture away from the switch.</p>
      <label class="switch"><input id="analytics" type="checkbox" role="switch" checked><span>Analytics</span></label>
      <div id="consent-state"></div>
      <div class="stats">
        <div class="stat"><b id="stat-tracked">0</b><span>tracked on this page</span></div>
        <div class="stat"><b id="stat-delivered">0</b><span>delivered</span></div>
        <div class="stat"><b id="stat-consent">0</b><span>dropped: no consent</span></div>
      </div>
    </section>
  </div>
  <section class="card panel">
    <div class="panel-head"><h2>Stored events</h2><small id="event-count" aria-live="polite"></small></div>
    <p>The last 20 events the platform stored for this visitor, newest first, read back from the event log.</p>
    <p id="empty">No events yet. They appear here once the collector has stored them durably.</p>
    <ol id="events"></ol>
    <p class="who">anonymous id <span id="anonymous-id" class="mono">…</span></p>
  </section>
  <section class="card wide-card">
    <h2>On your own site</h2>
    <p>Create a source for your site's origin, then add the SDK with its write key.</p>
<pre><span class="c"># on the server</span>
npx deepref keys create --name web --origin https://your.site

<span class="c">&lt;!-- in your pages --&gt;</span>
&lt;script src="<span data-origin></span>/sdk/deepref.iife.js"&gt;&lt;/script&gt;
&lt;script&gt;
  deepref.init({ writeKey: 'drk_…', endpoint: '<span data-origin></span>' });
  deepref.track('document_create', { document_id: 'doc-1' });
&lt;/script&gt;</pre>
  </section>
</main>
<script type="application/json" id="example-config">${scriptSafeJson({ writeKey, allowedOrigins })}</script>
<script src="/sdk/deepref.iife.js"></script>
<script nonce="${nonce}">${pageScript}</script>
</body>
</html>
`;
}
