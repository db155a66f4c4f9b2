// A person approves, on the page, a request of a real agent: the real `codex` CLI
// ($CODESWARM_CODEX_BIN, installed by scripts/test-env.d/20-agents.sh) against the stub model
// server (tests/stub/), whose scripted tool call makes codex ask before running a command, with
// approval_decision "ask". Codex rather than claude: the stub's tool_call is made for codex's
// Responses API, codex needs only its CODEX_HOME and one key to run offline, and its request
// names the command itself. Without the binary the test fails when CODESWARM_REQUIRE_AGENTS=1
// (what scripts/test.sh sets) and is skipped otherwise.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import readline from 'node:readline';
import { test } from 'node:test';

import { startStub } from '../openclaw/harness.mjs';
import { launchBrowser, openPage, startRouter, tempDir, within } from './harness.mjs';

// Why the real codex cannot run here, or '' when it can; an error instead with
// CODESWARM_REQUIRE_AGENTS=1.
function codexMissing() {
  const binary = process.env.CODESWARM_CODEX_BIN;
  let why = '';
  if (!binary) why = 'CODESWARM_CODEX_BIN is not set (`. scripts/test-env.d/20-agents.sh up` sets it)';
  else if (!fs.existsSync(binary)) {
    why = `no codex at ${binary} (scripts/test-env.d/20-agents.sh up installs it)`;
  }
  if (why && process.env.CODESWARM_REQUIRE_AGENTS === '1') throw new Error(why);
  return why;
}

// A CODEX_HOME whose config.toml points codex at the stub, offline (the switches are those of
// tests/e2e/agents_codex_e2e_test.cc: without them codex reaches out at start).
function writeCodexHome(dir, stubPort) {
  const home = path.join(dir, 'codex-home');
  fs.mkdirSync(home, { recursive: true });
  const features = ['plugins', 'remote_plugin', 'plugin_sharing', 'apps', 'tool_suggest',
    'skill_mcp_dependency_install', 'image_generation', 'browser_use', 'computer_use', 'in_app_updates'];
  fs.writeFileSync(path.join(home, 'config.toml'), [
    'model = "stub-model"', 'model_provider = "stub"', 'check_for_update_on_startup = false',
    '[model_providers.stub]', 'name = "Local stub"', `base_url = "http://127.0.0.1:${stubPort}/v1"`,
    'env_key = "STUB_API_KEY"', 'wire_api = "responses"', 'request_max_retries = 0',
    'stream_max_retries = 0', '[analytics]', 'enabled = false', '[features]',
    ...features.map((name) => `${name} = false`), ''].join('\n'));
  return home;
}

// One command to the router over the client protocol: the messages it answers with, up to the
// one `isLast` accepts (a command_rejected throws).
async function askRouter(port, command, payload, isLast) {
  const socket = net.connect(port, '127.0.0.1');
  try {
    const messages = [];
    const answered = new Promise((resolve, reject) => {
      socket.on('error', reject);
      readline.createInterface({ input: socket }).on('line', (line) => {
        const message = JSON.parse(line);
        if (message.event === 'command_rejected') reject(new Error(`${command}: ${line}`));
        messages.push(message);
        if (isLast(message)) resolve(messages);
      });
    });
    socket.write(`${JSON.stringify({
      protocol: 'codeswarm.router.v1', type: 'command', command, request_id: 'r-test', payload,
    })}\n`);
    const answer = await within(answered, 20000);
    if (answer === null) {
      throw new Error(`${command}: no full answer from the router within 20 s (${messages.length} messages)`);
    }
    return answer;
  } finally {
    socket.destroy();
  }
}

test('a person approves a real codex request on the page and the turn completes', async (t) => {
  const missing = codexMissing();
  if (missing) return t.skip(missing);

  const file = 'approved_on_the_page.txt';
  const command = `touch ${file}`;
  const stub = await startStub(t);
  await stub.control({ rules: [{ match: '[web-approve]', tool_call: { command } }] });
  const dir = tempDir(t, 'codeswarm-web-codex-');
  const agent = {
    kind: 'codex',
    approval_timeout_seconds: 120,
    codex: {
      binary: process.env.CODESWARM_CODEX_BIN, codex_home: writeCodexHome(dir, stub.port),
      approval_policy: 'untrusted',
    },
  };
  const router = await startRouter(t, { agent, env: { STUB_API_KEY: 'stub-key' } });
  const browser = await launchBrowser(t);
  const { page, errors } = await openPage(browser, router.url);
  await page.locator('#connection[data-state="open"]').waitFor({ timeout: 20000 });

  // Launch from the dialog: 1 codex node whose requests a person decides.
  await page.click('#launch-open');
  await page.fill('#launch-form input[name="nodes"]', '1');
  await page.fill('#launch-form textarea[name="system_prompt"]', 'You are a test node.');
  await page.selectOption('#launch-form select[name="kind"]', 'codex');
  await page.selectOption('#launch-form select[name="approval_decision"]', 'ask');
  await page.click('#launch-form button[type="submit"]');
  await page.locator('#swarm-title').filter({ hasText: /^s-/ }).waitFor({ timeout: 20000 });
  const swarmId = await page.textContent('#swarm-title');
  const card = '.node-card[data-node="0"]';
  await page.locator(`${card}[data-state="idle"]`).waitFor({ timeout: 60000 });

  await page.fill('#prompt-nodes', 'all');
  await page.fill('#prompt', 'Make a file [web-approve]');
  await page.press('#prompt', 'Enter');

  // The request shows at the top of the swarm, naming the command; a person accepts it there.
  const request = page.locator('#approvals .approval');
  await request.waitFor({ timeout: 60000 });
  assert.match(await request.textContent(), /node 0 asks \(command\):/);
  assert.match(await request.locator('code').textContent(), new RegExp(command));
  await request.locator('button.accept').click();
  await page.locator('#approvals').waitFor({ state: 'hidden', timeout: 20000 });

  // The turn shows the decision, by a person, and completes with the model's last answer.
  const turn = page.locator(`${card} .turn[data-status="completed"]`);
  await turn.waitFor({ timeout: 60000 });
  assert.equal(await turn.locator('.approval .badge').textContent(), 'accept (person)');
  assert.match(await turn.locator('.answer').textContent(), /Done\. The tool call finished\./);
  assert.ok(fs.existsSync(path.join(router.dir, 'ws', 'swarms', swarmId, 'node-0', file)),
    'the approved command ran in the node\'s directory');

  // The router recorded the same: one request, answered accept by a person, and no request left.
  const journal = await askRouter(router.port, 'subscribe', { swarm_id: swarmId, since_seq: 0 },
    (m) => m.event === 'replay_complete');
  const of = (name) => journal.filter((e) => e.event === name).map((e) => e.data);
  const [asked] = of('approval_request');
  assert.ok(asked, `no approval_request in the journal: ${journal.map((e) => e.event).join(' ')}`);
  const decisions = of('approval');
  assert.equal(decisions.length, 1);
  assert.equal(decisions[0].approval_id, asked.approval_id);
  assert.equal(decisions[0].decision, 'accept');
  assert.equal(decisions[0].decided_by, 'person');
  assert.equal(of('turn_complete')[0]?.status, 'completed');
  const status = (await askRouter(router.port, 'swarm_status', { swarm_id: swarmId },
    (m) => m.event === 'swarm_status')).at(-1);
  assert.deepEqual(status.data.nodes[0].approvals_waiting, []);
  assert.deepEqual(errors, [], 'no console errors');
});
