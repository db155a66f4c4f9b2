// Takes docs/web-ui.png, the README's picture of the main view: an 8-node mock swarm, four nodes
// done (their answers rendered as Markdown) and four halfway through streaming theirs. Not a test; run by hand after a visible change to the page:
//   CODESWARM_PLAYWRIGHT=... node tests/web/screenshot.mjs
import path from 'node:path';
import { test } from 'node:test';

import { eventually, launchBrowser, openPage, repoRoot, startRouter } from './harness.mjs';

test('screenshot of the main view', async (t) => {
  const reply = '**Node {node_id}** looked at *{prompt}*:\n\n- the accept loop checks the peer ' +
    'with `NETLINK_SOCK_DIAG`\n- every response carries a strict CSP\n\nNothing else to report.';
  const router = await startRouter(t, { agent: { kind: 'mock', mock: { reply, chunks: 40, chunk_delay_ms: 60 } } });
  const browser = await launchBrowser(t);
  const { page } = await openPage(browser, router.url);
  await page.locator('#connection[data-state="open"]').waitFor();
  await page.click('#launch-open');
  await page.fill('#launch-form input[name="nodes"]', '8');
  await page.fill('#launch-form textarea[name="system_prompt"]', 'You review C++ code.');
  await page.click('#launch-form button[type="submit"]');
  for (let node = 0; node < 8; node++) await page.locator(`.node-card[data-node="${node}"][data-state="idle"]`).waitFor();
  await page.fill('#prompt-nodes', '0-3');
  await page.fill('#prompt', 'the web port');
  await page.press('#prompt', 'Enter');
  for (let node = 0; node < 4; node++) await page.locator(`.node-card[data-node="${node}"] .turn[data-status="completed"]`).waitFor();
  await page.fill('#prompt-nodes', '4-7');
  await page.fill('#prompt', 'the WebSocket');
  await page.press('#prompt', 'Enter');
  await eventually(async () => ((await page.locator('.node-card[data-node="7"] .answer.streaming').textContent().catch(() => '')) ?? '').length > 90,
    'node 7 halfway through its answer');
  await page.fill('#prompt-nodes', 'all');
  await page.fill('#prompt', 'Summarize what you found in three bullet points.');
  await page.screenshot({ path: path.join(repoRoot, 'docs', 'web-ui.png') });
});
