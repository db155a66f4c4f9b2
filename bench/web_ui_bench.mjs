// The web page while 16 nodes stream at full speed, in Debian's chromium through playwright-core
// (the harness of tests/web/): animation frames per second, batches of DOM changes, event lines
// received, and how long a node's tab takes to open. Prints a Markdown table, a row per run
// (docs/BENCHMARKS.md, "The web page").
//
//   . scripts/test-env.d/20-agents.sh up; . scripts/test-env.d/40-web.sh up
//   node bench/web_ui_bench.mjs [RUNS]      (default 3; CODESWARM_BINARY: the router binary)
import { eventually, launchBrowser, openPage, startRouter } from '../tests/web/harness.mjs';
import { launchFromPage, sendPrompt, waitConnected, watchDrawing } from '../tests/web/page.mjs';

// Stands in for node:test's context: the harness registers its clean-ups with after().
function context() {
  const cleanups = [];
  return {
    after: (fn) => cleanups.push(fn),
    close: async () => { for (const fn of cleanups.reverse()) await fn(); },
  };
}

async function run() {
  const t = context();
  try {
    const router = await startRouter(t, { agent: { kind: 'mock', mock: { reply: 'word '.repeat(2000) } } });
    const browser = await launchBrowser(t);
    const { page, received } = await openPage(browser, router.url);
    await waitConnected(page);
    await launchFromPage(page, { nodes: 16, chunks: 2000, delayMs: 1 });
    await sendPrompt(page, 'all', 'stream as fast as you can');
    await eventually(async () => (await page.locator('.answer.streaming').count()) === 16, 'all 16 nodes streaming', 30000);
    const before = await received();
    const drawing = await watchDrawing(page, 1000);
    const events = (await received()) - before;
    const started = Date.now();
    await page.click('button[data-tab="9"]');
    await page.locator('#transcript .turn').waitFor({ timeout: 30000 });
    return { ...drawing, events, tabMs: Date.now() - started };
  } finally {
    await t.close();
  }
}

const runs = Math.max(1, Number(process.argv[2] ?? 3));
console.log('| run | frames in 1 s | batches of DOM changes | event lines received | a node\'s tab opens in ms |');
console.log('|---|---|---|---|---|');
for (let i = 1; i <= runs; i++) {
  const r = await run();
  console.log(`| ${i} | ${r.frames} | ${r.updates} | ${r.events} | ${r.tabMs} |`);
}
