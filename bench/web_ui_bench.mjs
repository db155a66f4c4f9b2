// The web page while 16 nodes stream at full speed, in Debian's chromium through playwright-core
// (the harness of tests/web/): animation frames per second, batches of DOM changes, event lines
// received, and how long a node's tab takes to open. Prints a Markdown table, a row per run
// (docs/BENCHMARKS.md, "The web page").
//
//   . scripts/test-env.d/20-agents.sh up; . scripts/test-env.d/40-web.sh up
//   node bench/web_ui_bench.mjs [RUNS]      (default 3; CODESWARM_BINARY: the router binary)
import { launchBrowser, openPage, startRouter } from '../tests/web/harness.mjs';
import { STREAMING_AGENT, watchStreaming } from '../tests/web/page.mjs';

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
    const router = await startRouter(t, { agent: STREAMING_AGENT });
    const browser = await launchBrowser(t);
    const { page, received } = await openPage(browser, router.url);
    return await watchStreaming(page, received);
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
