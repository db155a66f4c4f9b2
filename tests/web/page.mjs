// What a person does on the web page, for the browser tests and the web benchmark
// (bench/web_ui_bench.mjs): launch a mock swarm from the dialog, send a prompt, and watch how
// the page draws while nodes stream.
import { eventually } from './harness.mjs';

export const card = (node) => `.node-card[data-node="${node}"]`;

export async function waitConnected(page) {
  await page.locator('#connection[data-state="open"]').waitFor({ timeout: 20000 });
}

// Launches a mock swarm from the dialog; returns its id once every node is connected.
export async function launchFromPage(page, { nodes, chunks, delayMs }) {
  await page.click('#launch-open');
  await page.fill('#launch-form input[name="nodes"]', String(nodes));
  await page.fill('#launch-form textarea[name="system_prompt"]', 'You are a test swarm.');
  await page.selectOption('#launch-form select[name="kind"]', 'mock');
  await page.fill('#launch-form input[name="chunks"]', String(chunks));
  await page.fill('#launch-form input[name="chunk_delay_ms"]', String(delayMs));
  await page.click('#launch-form button[type="submit"]');
  await page.locator('#swarm-title').filter({ hasText: /^s-/ }).waitFor({ timeout: 20000 });
  const swarmId = await page.textContent('#swarm-title');
  for (let node = 0; node < nodes; node++) {
    await page.locator(`${card(node)}[data-state="idle"]`).waitFor({ timeout: 30000 });
  }
  return swarmId;
}

export async function sendPrompt(page, nodes, text) {
  await page.fill('#prompt-nodes', nodes);
  await page.fill('#prompt', text);
  await page.press('#prompt', 'Enter');
}

// Watches the swarm view for `ms` of the page's time: the animation frames, and the batches of
// DOM changes (MutationObserver callbacks: one per task or frame that changed something).
export async function watchDrawing(page, ms) {
  return page.evaluate((duration) => new Promise((resolve) => {
    let frames = 0;
    let updates = 0;
    const observer = new MutationObserver(() => { updates++; });
    observer.observe(document.getElementById('swarm-view'),
      { subtree: true, childList: true, characterData: true, attributes: true });
    const end = performance.now() + duration;
    const tick = () => {
      frames++;
      if (performance.now() < end) {
        requestAnimationFrame(tick);
        return;
      }
      observer.disconnect();
      resolve({ frames, updates });
    };
    requestAnimationFrame(tick);
  }), ms);
}

// The router's agent for watchStreaming: a mock answering 2,000 words.
export const STREAMING_AGENT = { kind: 'mock', mock: { reply: 'word '.repeat(2000) } };

// 16 nodes (of a router started with STREAMING_AGENT) streaming 2,000 deltas of 5 characters
// each, 1 ms apart, launched and prompted from `page`: what the page drew in one second of it
// (watchDrawing, and the event lines it received: openPage's received()), then how long node
// 9's tab took to open.
export async function watchStreaming(page, received) {
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
}
