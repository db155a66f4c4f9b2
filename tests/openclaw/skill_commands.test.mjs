// Every command that integrations/openclaw/codeswarm/SKILL.md shows, run verbatim (only its
// <placeholders> replaced) through sh against a real router, in the order an assistant would:
// configure, check the router, launch, inject, follow, status, list, interrupt, terminate.
// sh is dash on Debian, a strict POSIX shell (no pipefail, no arrays): OpenClaw's exec runs a
// command with $SHELL, and with sh when SHELL is not set, so the skill's commands must not
// depend on bash.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import { codeswarmBinary, eventually, jsonLines, run, startBackground, startRouter, tempDir }
  from './harness.mjs';
import { openclawBinDir, openclawMissing } from './openclaw.mjs';
import { skillCommands } from './skill_file.mjs';

// The step of the scenario each command of SKILL.md belongs to.
function kindOf(command) {
  if (command.startsWith('openclaw config set ')) return 'configure';
  const match = command.match(/codeswarm --json (?:--router '<host:port>' )?([a-z]+)/);
  assert.ok(match, `SKILL.md command not recognised by this test: ${command}`);
  return command.includes('--router') ? `${match[1]} --router` : match[1];
}

test('every command in SKILL.md runs verbatim against a real router', async (t) => {
  const commands = skillCommands();
  const byKind = new Map();
  for (const command of commands) {
    const kind = kindOf(command);
    assert.ok(!byKind.has(kind), `two SKILL.md commands of kind ${kind}`);
    byKind.set(kind, command);
  }
  const ran = new Set();
  const router = await startRouter(t);
  const dir = tempDir(t);
  const env = {
    PATH: [path.dirname(codeswarmBinary), openclawBinDir(dir), process.env.PATH].join(':'),
    CODESWARM_CONFIG: router.configPath,
    HOME: dir,
    OPENCLAW_CONFIG_PATH: path.join(dir, 'openclaw.json'),
  };
  const values = { config_path: router.configPath, 'host:port': router.address, n: '2' };
  const fill = (command, more = {}) => command.replace(/<([a-z_:]+)>/g, (whole, name) => {
    const value = { ...values, ...more }[name];
    assert.ok(value !== undefined, `no value for ${whole} in: ${command}`);
    return value;
  });
  const sh = async (kind, more = {}, options = {}) => {
    const command = byKind.get(kind);
    assert.ok(command, `SKILL.md shows no ${kind} command`);
    ran.add(kind);
    return run(['sh', '-c', fill(command, more)], { env, cwd: dir, ...options });
  };

  // Configure: OpenClaw's own config command stores the config path for the skill.
  fs.writeFileSync(env.OPENCLAW_CONFIG_PATH,
    JSON.stringify({ logging: { file: path.join(dir, 'openclaw.log') } }));
  if (openclawMissing()) {
    t.diagnostic(`not run: ${byKind.get('configure')} (${openclawMissing()})`);
    ran.add('configure');
  } else {
    const configured = await sh('configure', {}, { timeoutMs: 120000 });
    assert.equal(configured.code, 0, configured.out + configured.err);
    const stored = JSON.parse(fs.readFileSync(env.OPENCLAW_CONFIG_PATH, 'utf8'));
    assert.equal(stored.skills.entries.codeswarm.env.CODESWARM_CONFIG, router.configPath);
  }
  const reached = await sh('list --router');
  assert.equal(reached.code, 0, reached.err);
  assert.equal(jsonLines(reached.out)[0].event, 'swarm_list');

  const systemPrompt = path.join(dir, 'system prompt.md');
  fs.writeFileSync(systemPrompt, "You review C++ code; don't run `rm -rf` $(ever).\n");
  const launched = await sh('launch', { prompt_file: `'${systemPrompt}'` });
  assert.equal(launched.code, 0, launched.err);
  const launchEvents = jsonLines(launched.out);
  const swarm = launchEvents[0].data.swarm_id;
  assert.equal(launchEvents.filter((e) => e.event === 'node_connected').length, 2);
  const status0 = jsonLines((await router.cli(['--json', 'status', swarm])).out)[0];
  assert.equal(status0.data.system_prompt, fs.readFileSync(systemPrompt, 'utf8'));

  const attach = startBackground(fill(byKind.get('attach'), { swarm_id: swarm }),
    { env, cwd: dir, shell: true });
  ran.add('attach');
  t.after(() => attach.kill());
  await eventually(() => attach.lines.length > 0, 'the first line of attach');

  const prompt = path.join(dir, 'prompt.md');
  fs.writeFileSync(prompt, 'Review "src/gemm.cc"; it is $HOME\'s `best` file.');
  const injected = await sh('inject', { swarm_id: swarm, nodes: 'all', prompt_file: prompt });
  assert.equal(injected.code, 0, injected.err);
  const events = jsonLines(injected.out);
  assert.ok(!events.some((e) => e.event === 'assistant_delta'), '--no-deltas leaves out the deltas');
  for (const node of [0, 1]) {
    const answer = events.find((e) => e.event === 'assistant' && e.data.node_id === node);
    assert.equal(answer.data.content, `node ${node} heard: ${fs.readFileSync(prompt, 'utf8')}`);
    const end = events.find((e) => e.event === 'turn_complete' && e.data.node_id === node);
    assert.equal(end.data.status, 'completed');
  }
  const again = await sh('inject', { swarm_id: swarm, nodes: '1', prompt_file: prompt });
  assert.equal(again.code, 0, again.err);
  assert.deepEqual(jsonLines(again.out).filter((e) => e.event === 'turn_complete').map((e) => e.data.node_id), [1]);
  const usage = await sh('inject', { swarm_id: swarm, nodes: '0', prompt_file: '/nonexistent/prompt' });
  assert.equal(usage.code, 2, 'a usage error is exit 2');

  const status = await sh('status', { swarm_id: swarm });
  assert.equal(status.code, 0, status.err);
  const nodes = jsonLines(status.out)[0].data.nodes;
  assert.deepEqual(nodes.map((n) => [n.node_id, n.state, n.turns_completed]), [[0, 'idle', 1], [1, 'idle', 2]]);
  const list = await sh('list');
  assert.equal(list.code, 0, list.err);
  assert.equal(jsonLines(list.out)[0].data.swarms[swarm].status, 'running');

  // Interrupt a turn that hangs: the inject that waits for it ends with exit 1, interrupted.
  const hang = path.join(dir, 'hang.md');
  fs.writeFileSync(hang, '[[mock:hang]]');
  const hanging = startBackground(fill(byKind.get('inject'), { swarm_id: swarm, nodes: '0', prompt_file: hang }),
    { env, cwd: dir, shell: true });
  t.after(() => hanging.kill());
  await eventually(() => hanging.lines.some((l) => l.includes('"event":"turn_started"')), 'the hanging turn');
  const interrupted = await sh('interrupt', { swarm_id: swarm, nodes: '0' });
  assert.equal(interrupted.code, 0, interrupted.err);
  assert.deepEqual(jsonLines(interrupted.out)[0].data.interrupted.map((i) => i.node_id), [0]);
  const hangEnd = await hanging.wait();
  assert.equal(hangEnd.code, 1, 'an interrupted turn makes inject exit 1');
  const hangEvents = jsonLines(hanging.lines.join('\n'));
  assert.equal(hangEvents.find((e) => e.event === 'turn_complete').data.status, 'interrupted');

  const terminated = await sh('terminate', { swarm_id: swarm });
  assert.equal(terminated.code, 0, terminated.err);
  assert.equal(jsonLines(terminated.out)[0].event, 'swarm_terminated');

  const attachEnd = await attach.wait();
  assert.equal(attachEnd.code, 0, attach.stderr());
  const followed = jsonLines(attach.lines.join('\n'));
  assert.equal(followed[0].event, 'swarm_status');
  assert.ok(followed.some((e) => e.event === 'assistant' && e.data.node_id === 1));
  assert.ok(!followed.some((e) => e.event === 'assistant_delta'));

  assert.deepEqual([...byKind.keys()].filter((k) => !ran.has(k)), [], 'SKILL.md commands not run');
});
