/** The pages the Chromium tests open, and the SDK bundles beside them under /sdk/. */

const layout = (title: string, head: string, body: string) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${title}</title>${head}</head>
<body>${body}</body></html>`;

/** The script-tag build, initialised with the options the test put in `window.__deepref`. */
const scriptTag = `<script src="/sdk/deepref.iife.js"></script>
<script>if (window.__deepref) deepref.init(window.__deepref);</script>`;

/** The ESM build, exposed as `window.deepref` so that tests drive both builds the same way. */
const moduleScript = `<script type="module">
import * as deepref from '/sdk/deepref.js';
window.deepref = deepref;
if (window.__deepref) deepref.init(window.__deepref);
</script>`;

const appBody = `<h1>DeepRef test app</h1>
<p><a id="details-link" href="#details">Details</a>
<a id="mail-link" class="stay" href="mailto:someone@example.org">Write to us</a>
<a id="out-link" class="stay" href="https://example.org/pricing?ref=app">Pricing</a></p>
<form id="signup">
  <input name="email" type="email" required>
  <input name="password" type="password">
  <select name="plan"><option value="">choose</option><option value="pro">Pro</option></select>
  <button id="submit">Sign up</button>
</form>
<button id="throw">Throw</button> <button id="reject">Reject</button> <button id="fetch">Fetch</button>
<div id="details" style="height: 4000px">Details</div>
<script>
  for (const link of document.querySelectorAll('a.stay')) link.addEventListener('click', (e) => e.preventDefault());
  document.getElementById('signup').addEventListener('submit', (e) => e.preventDefault());
  document.getElementById('throw').onclick = () => setTimeout(() => { throw new TypeError('boom from the test page'); });
  document.getElementById('reject').onclick = () => { Promise.reject(new RangeError('rejected on purpose')); };
  document.getElementById('fetch').onclick = () => fetch('/api/ping?token=s3cr3t').then((r) => r.json());
</script>`;

const vitalsBody = `<h1 id="hero" style="font-size: 64px">Vitals</h1>
<p id="text">A page for the web vitals test.</p>
<button id="slow" style="width: 300px; height: 80px">Slow click</button>
<script>
  // A long handler, so that the interaction is long enough for INP to record it.
  document.getElementById('slow').onclick = () => { const end = performance.now() + 120; while (performance.now() < end) {} };
  // The test waits until the browser has timed that interaction (Event Timing), before it hides the page.
  window.interactions = 0;
  new PerformanceObserver((list) => {
    window.interactions += list.getEntries().filter((entry) => entry.interactionId > 0).length;
  }).observe({ type: 'event', durationThreshold: 16, buffered: true });
  // A late banner pushes the text down: a layout shift for CLS.
  setTimeout(() => document.getElementById('hero').insertAdjacentHTML('beforebegin', '<div style="height: 120px">banner</div>'), 50);
</script>`;

export const pages: Record<string, string> = {
  '/app.html': layout('DeepRef test app', scriptTag, appBody),
  '/app-esm.html': layout('DeepRef test app', moduleScript, appBody),
  '/vitals.html': layout('Vitals', scriptTag, vitalsBody),
};
