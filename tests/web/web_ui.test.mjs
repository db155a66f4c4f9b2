// The web UI in a real browser (Debian's chromium through playwright-core) against the real
// router binary: what a person does on the page, and what another origin cannot do.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import http from 'node:http';
import { test } from 'node:test';

import {
  codeswarmBinary, eventually, launchBrowser, openPage, run, startRouter,
} from './harness.mjs';
import {
  card, launchFromPage, sendPrompt, STREAMING_AGENT, waitConnected, watchStreaming,
} from './page.mjs';

test('a person launches, injects, watches it stream, interrupts one node, reloads and terminates', async (t) => {
  const router = await startRouter(t);
  const browser = await launchBrowser(t);
  const { page, errors } = await openPage(browser, router.url);
  await waitConnected(page);

  const swarmId = await launchFromPage(page, { nodes: 4, chunks: 60, delayMs: 100 });
  await sendPrompt(page, 'all', 'hello **swarm**');
  await eventually(async () => (await page.inputValue('#prompt')) === '', 'Enter to send the prompt and clear the box');

  // Partial text on every node while its turn still runs (before turn_complete).
  for (let node = 0; node < 4; node++) {
    const streaming = page.locator(`${card(node)} .turn[data-status="running"] .answer.streaming`);
    await streaming.waitFor({ timeout: 20000 });
    assert.match(await streaming.textContent(), /\S/);
  }
  await page.click(`${card(1)} button.interrupt`);
  await page.locator(`${card(1)} .turn[data-status="interrupted"]`).waitFor({ timeout: 20000 });
  for (const node of [0, 2, 3]) {
    await page.locator(`${card(node)} .turn[data-status="completed"]`).waitFor({ timeout: 30000 });
  }
  // The finished answer is rendered as Markdown: the prompt's **swarm** became <strong>.
  assert.equal(await page.textContent(`${card(0)} .answer strong`), 'swarm');

  // A reload shows the history from the journal.
  await page.reload();
  await waitConnected(page);
  await page.click(`li[data-swarm="${swarmId}"] button`);
  await page.locator(`${card(0)} .turn[data-status="completed"]`).waitFor({ timeout: 20000 });
  await page.locator(`${card(1)} .turn[data-status="interrupted"]`).waitFor({ timeout: 20000 });
  assert.match(await page.textContent(`${card(2)} .answer`), /node 2 heard: hello swarm/);
  await page.click('button[data-tab="3"]');
  await page.locator('#transcript .turn[data-status="completed"]').waitFor({ timeout: 20000 });
  assert.equal(await page.locator('#transcript .turn').count(), 1, 'one turn, not doubled');
  assert.equal(await page.textContent('#transcript .turn .prompt'), 'hello **swarm**');
  assert.match(await page.textContent('#transcript .turn .usage'), /tokens: \d+ in/);

  await page.click('#terminate');
  await page.click('#confirm-form button[type="submit"]');
  await page.locator(`li[data-swarm="${swarmId}"] .badge.status-terminated`).waitFor({ timeout: 30000 });
  assert.deepEqual(errors, [], 'no console errors (a CSP violation would be one)');
});

test('the page reconnects after a router restart and shows every turn once', async (t) => {
  const router = await startRouter(t);
  const browser = await launchBrowser(t);
  const { page, errors } = await openPage(browser, router.url);
  await waitConnected(page);
  await launchFromPage(page, { nodes: 2, chunks: 2, delayMs: 0 });
  await sendPrompt(page, '0-1', 'before the restart');
  await page.locator(`${card(1)} .turn[data-status="completed"]`).waitFor({ timeout: 20000 });

  await router.restart();
  await waitConnected(page);
  for (let node = 0; node < 2; node++) {
    await page.locator(`${card(node)}[data-state="idle"]`).waitFor({ timeout: 30000 });
  }
  await sendPrompt(page, '0', 'after the restart');
  await page.click('button[data-tab="0"]');
  await eventually(async () => (await page.locator('#transcript .turn[data-status="completed"]').count()) === 2,
    'both turns of node 0 completed');
  assert.equal(await page.locator('#transcript .turn').count(), 2, 'no turn lost or doubled');
  assert.deepEqual(errors.filter((e) => !/WebSocket|ERR_CONNECTION_REFUSED/.test(e)), []);
});

test('a page of another origin cannot open the WebSocket', async (t) => {
  const router = await startRouter(t);
  // The other origin: a page on another port of the same machine trying the router's /ws.
  const other = http.createServer((request, response) => {
    response.setHeader('Content-Type', 'text/html');
    response.end(`<script>
      const ws = new WebSocket('ws://127.0.0.1:${router.httpPort}/ws');
      ws.onopen = () => { document.title = 'opened'; };
      ws.onerror = () => { document.title = 'refused'; };
    </script>`);
  });
  await new Promise((resolve) => other.listen(0, '127.0.0.1', resolve));
  t.after(() => other.close());
  const browser = await launchBrowser(t);
  const page = await browser.newPage();
  await page.goto(`http://127.0.0.1:${other.address().port}/`);
  await eventually(async () => (await page.title()) !== '', 'the socket opened or failed');
  assert.equal(await page.title(), 'refused');
  assert.match(router.log(), /WebSocket refused: Origin "http:\/\/127\.0\.0\.1:\d+" is not this page's own/);
});

test('codeswarm ui prints the page\'s address', async (t) => {
  const router = await startRouter(t);
  const plain = await run([codeswarmBinary, '--config', router.configPath, '--no-autostart', 'ui', '--no-browser']);
  assert.equal(plain.code, 0, plain.err);
  assert.equal(plain.out, `${router.url}\n`);
  const json = await run([codeswarmBinary, '--config', router.configPath, '--no-autostart', '--json', 'ui', '--no-browser']);
  assert.deepEqual(JSON.parse(json.out), { url: router.url });
});

test('nothing an agent writes is executed: its answer is shown as text', async (t) => {
  const reply = '<img src=x onerror="document.title=\'pwned\'"><script>document.title="pwned"</script>' +
    ' [click](javascript:document.title="pwned") **bold** [docs](https://example.com/x)';
  const router = await startRouter(t, { agent: { kind: 'mock', mock: { reply, chunks: 3 } } });
  const browser = await launchBrowser(t);
  const { page, errors } = await openPage(browser, router.url);
  await waitConnected(page);
  await launchFromPage(page, { nodes: 1, chunks: 3, delayMs: 0 });
  await sendPrompt(page, 'all', 'anything');
  const answer = page.locator(`${card(0)} .turn[data-status="completed"] .answer`);
  await answer.waitFor({ timeout: 20000 });
  assert.match(await answer.textContent(), /<img src=x onerror=/);
  assert.equal(await answer.locator('img, script').count(), 0);
  assert.equal(await answer.locator('strong').textContent(), 'bold');
  const links = await answer.locator('a').evaluateAll((as) => as.map((a) => [a.href, a.rel]));
  assert.deepEqual(links, [['https://example.com/x', 'noopener noreferrer nofollow']]);
  assert.notEqual(await page.title(), 'pwned');
  assert.deepEqual(errors, []);
});

test('16 nodes streaming at full speed are drawn in batches, once per animation frame', async (t) => {
  // How fast the page stays (frames per second, a tab opening) is measured by
  // bench/web_ui_bench.mjs (docs/BENCHMARKS.md); this test holds what keeps it so, whatever the
  // machine's speed: the page changes the DOM only in animation frames, each frame taking every
  // delta that arrived since the last.
  const router = await startRouter(t, { agent: STREAMING_AGENT });
  const browser = await launchBrowser(t);
  const { page, errors, received } = await openPage(browser, router.url);
  const drawing = await watchStreaming(page, received);
  t.diagnostic(`while 16 nodes streamed: ${JSON.stringify(drawing)} (one second, then a tab)`);
  for (let node = 0; node < 16; node++) {
    await page.locator(`${card(node)} .turn[data-status="completed"]`).or(page.locator('#transcript .turn[data-status="completed"]')).first().waitFor({ timeout: 60000 });
  }
  assert.ok(drawing.updates >= 1, `the page drew nothing while 16 nodes streamed: ${JSON.stringify(drawing)}`);
  // One batch of DOM changes per frame at most (+1: a frame cut by the end of the window).
  assert.ok(drawing.updates <= drawing.frames + 1,
    `the DOM changed outside animation frames: ${JSON.stringify(drawing)}`);
  // Many events per batch.
  assert.ok(drawing.events > 2 * drawing.updates,
    `fewer than 2 events per batch of DOM changes: ${JSON.stringify(drawing)}`);
  assert.deepEqual(errors, []);
});

test('another user of the machine is refused by the web port', async (t) => {
  assert.equal(process.getuid(), 0, 'this test switches to another user (nobody), so it runs as root');
  const router = await startRouter(t);
  // As nobody: fetch the page and try the WebSocket's upgrade; print what came back.
  const script = `
    const http = require('node:http');
    http.get('${router.url}', (response) => {
      let body = '';
      response.on('data', (d) => { body += d; });
      response.on('end', () => { console.log(JSON.stringify({ status: response.statusCode, body })); });
    }).on('error', (e) => { console.log(JSON.stringify({ error: String(e) })); });`;
  const result = spawnSync(process.execPath, ['-e', script], { uid: 65534, gid: 65534, timeout: 20000, encoding: 'utf8', cwd: '/' });
  assert.equal(result.status, 0, result.stderr);
  const answer = JSON.parse(result.stdout);
  assert.equal(answer.status, 403);
  assert.match(answer.body, /^connection from uid 65534 refused: this router belongs to uid 0/);
});

test('the web port serves the router\'s Prometheus metrics at /metrics', async (t) => {
  const router = await startRouter(t);
  const response = await fetch(`${router.url}metrics`);
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type'), /^text\/plain; version=0\.0\.4/);
  assert.match(await response.text(), /^codeswarm_swarms\{status="running"\} 0$/m);
});
