// The `--json` contract of docs/CLI.md, which the OpenClaw skill relies on: every client command
// against a real router (the real binary, local backend, mock agent), its JSON lines and its
// exit code.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import { jsonLines, names, startBackground, startRouter, codeswarmBinary, eventually } from './harness.mjs';

const PROTOCOL = 'codeswarm.router.v1';

function assertEnvelopes(events) {
  for (const e of events) {
    assert.equal(e.protocol, PROTOCOL);
    assert.equal(e.type, 'event');
    assert.equal(typeof e.event, 'string');
    assert.equal(typeof e.data, 'object');
  }
}

async function launch(router, nodes, extra = []) {
  const r = await router.cli(['--json', 'launch', '--nodes', String(nodes), '--wait', ...extra]);
  assert.equal(r.code, 0, r.err);
  const events = jsonLines(r.out);
  return events[0].data.swarm_id;
}

test('launch --wait prints swarm_launched then one node_connected per node, exit 0', async (t) => {
  const router = await startRouter(t);
  const r = await router.cli(['--json', 'launch', '--nodes', '3', '--prompt', 'be brief', '--wait']);
  assert.equal(r.code, 0, r.err);
  assert.equal(r.err, '');
  const events = jsonLines(r.out);
  assertEnvelopes(events);
  assert.equal(events[0].event, 'swarm_launched');
  const launched = events[0].data;
  assert.match(launched.swarm_id, /^s-[0-9a-f]{8}$/);
  assert.equal(launched.node_count, 3);
  assert.equal(launched.backend, 'local');
  assert.equal(launched.agent_kind, 'mock');
  assert.equal(typeof launched.job_id, 'string');
  const connected = events.filter((e) => e.event === 'node_connected');
  assert.deepEqual(connected.map((e) => e.data.node_id).sort(), [0, 1, 2]);
  for (const e of events.slice(1)) {
    assert.ok(['node_connected', 'swarm_update'].includes(e.event), e.event);
    assert.equal(e.data.swarm_id, launched.swarm_id);
  }
});

test('launch without --wait prints only swarm_launched', async (t) => {
  const router = await startRouter(t);
  const r = await router.cli(['--json', 'launch', '--nodes', '1']);
  assert.equal(r.code, 0, r.err);
  assert.deepEqual(names(jsonLines(r.out)), ['swarm_launched']);
});

test('inject prints per node ack, delivered, turn events and one turn_complete; exit 0', async (t) => {
  const router = await startRouter(t);
  const swarm = await launch(router, 2);
  const r = await router.cli(['--json', 'inject', swarm, '--prompt', 'hello there']);
  assert.equal(r.code, 0, r.err);
  const events = jsonLines(r.out);
  assertEnvelopes(events);
  const injection = events[0].data.injection_id;
  assert.match(injection, /^i-/);
  for (const node of [0, 1]) {
    const mine = names(events.filter((e) => e.data.node_id === node && e.event !== 'assistant_delta'));
    assert.deepEqual(mine, ['inject_ack', 'inject_delivered', 'turn_started', 'assistant', 'usage',
      'turn_complete']);
    const answer = events.find((e) => e.event === 'assistant' && e.data.node_id === node);
    assert.equal(answer.data.content, `node ${node} heard: hello there`);
    const deltas = events.filter((e) => e.event === 'assistant_delta' && e.data.node_id === node);
    assert.equal(deltas.map((e) => e.data.delta).join(''), answer.data.content);
    const end = events.find((e) => e.event === 'turn_complete' && e.data.node_id === node);
    assert.deepEqual([end.data.status, end.data.error], ['completed', null]);
    const usage = events.find((e) => e.event === 'usage' && e.data.node_id === node);
    assert.equal(typeof usage.data.total_tokens, 'number');
  }
  assert.deepEqual(events[0].data.nodes, [0, 1]);
  assert.ok(events.every((e) => e.data.injection_id === injection));
});

test('inject into some nodes, from a prompt file and from stdin, reaches only those nodes', async (t) => {
  const router = await startRouter(t);
  const swarm = await launch(router, 4);
  const file = path.join(router.dir, 'prompt.md');
  fs.writeFileSync(file, 'from a "file"; $(not run)\n');
  const r = await router.cli(['--json', 'inject', swarm, '--nodes', '1,3', '--prompt-file', file]);
  assert.equal(r.code, 0, r.err);
  const answers = jsonLines(r.out).filter((e) => e.event === 'assistant');
  assert.deepEqual(answers.map((e) => [e.data.node_id, e.data.content]).sort(),
    [[1, 'node 1 heard: from a "file"; $(not run)\n'], [3, 'node 3 heard: from a "file"; $(not run)\n']]);
  const piped = await router.cli(['--json', 'inject', swarm, '--nodes', '2', '-'], { input: 'piped' });
  assert.equal(piped.code, 0, piped.err);
  const ends = jsonLines(piped.out).filter((e) => e.event === 'turn_complete');
  assert.deepEqual(ends.map((e) => [e.data.node_id, e.data.status]), [[2, 'completed']]);
});

test('a failed turn is turn_complete status failed with its error, exit 1', async (t) => {
  const router = await startRouter(t);
  const swarm = await launch(router, 2);
  const r = await router.cli(['--json', 'inject', swarm, '--nodes', '0', '--prompt', '[[mock:fail]] now']);
  assert.equal(r.code, 1);
  const end = jsonLines(r.out).find((e) => e.event === 'turn_complete');
  assert.deepEqual([end.data.node_id, end.data.status, end.data.error],
    [0, 'failed', 'mock agent failure requested']);
});

test('status prints one swarm_status with the nodes; list one swarm_list; exit 0', async (t) => {
  const router = await startRouter(t);
  const swarm = await launch(router, 2);
  const status = await router.cli(['--json', 'status', swarm]);
  assert.equal(status.code, 0, status.err);
  const [s] = jsonLines(status.out);
  assert.deepEqual(names(jsonLines(status.out)), ['swarm_status']);
  assert.equal(s.data.swarm_id, swarm);
  assert.equal(s.data.status, 'running');
  assert.equal(s.data.nodes_connected, 2);
  assert.deepEqual(s.data.nodes.map((n) => [n.node_id, n.state]), [[0, 'idle'], [1, 'idle']]);
  for (const node of s.data.nodes) {
    for (const key of ['queued', 'turns_completed', 'total_tokens', 'hostname']) assert.ok(key in node, key);
  }
  const list = await router.cli(['--json', 'list']);
  assert.equal(list.code, 0, list.err);
  const lines = jsonLines(list.out);
  assert.deepEqual(names(lines), ['swarm_list']);
  const entry = lines[0].data.swarms[swarm];
  assert.deepEqual([entry.status, entry.node_count, entry.backend, entry.agent_kind],
    ['running', 2, 'local', 'mock']);
});

test('interrupt prints interrupt_ack; the interrupted turn ends as interrupted', async (t) => {
  const router = await startRouter(t);
  const swarm = await launch(router, 2);
  const inject = startBackground([codeswarmBinary, '--config', router.configPath, '--no-autostart',
    '--json', 'inject', swarm, '--nodes', '0', '--prompt', '[[mock:hang]]']);
  t.after(() => inject.kill());
  await eventually(() => inject.lines.some((l) => l.includes('"event":"turn_started"')), 'turn_started');
  const r = await router.cli(['--json', 'interrupt', swarm]);
  assert.equal(r.code, 0, r.err);
  const [ack] = jsonLines(r.out);
  assert.equal(ack.event, 'interrupt_ack');
  assert.deepEqual(ack.data.interrupted.map((i) => i.node_id), [0]);
  assert.deepEqual(ack.data.idle, [1]);
  const ended = await inject.wait();
  assert.equal(ended.code, 1);
  const end = jsonLines(inject.lines.join('\n')).find((e) => e.event === 'turn_complete');
  assert.deepEqual([end.data.status, end.data.error], ['interrupted', 'interrupted by request']);
});

test('attach prints swarm_status, then the swarm events, and ends after swarm_terminated', async (t) => {
  const router = await startRouter(t);
  const swarm = await launch(router, 1);
  const attach = startBackground([codeswarmBinary, '--config', router.configPath, '--no-autostart',
    '--json', 'attach', swarm]);
  t.after(() => attach.kill());
  await eventually(() => attach.lines.length > 0, 'the swarm_status line of attach');
  const injected = await router.cli(['--json', 'inject', swarm, '--prompt', 'watched']);
  assert.equal(injected.code, 0, injected.err);
  await eventually(() => attach.lines.some((l) => l.includes('"event":"turn_complete"')), 'turn_complete');
  const terminated = await router.cli(['--json', 'terminate', swarm]);
  assert.equal(terminated.code, 0, terminated.err);
  const ended = await attach.wait();
  assert.equal(ended.code, 0, attach.stderr());
  const events = jsonLines(attach.lines.join('\n'));
  assertEnvelopes(events);
  assert.equal(events[0].event, 'swarm_status');
  assert.ok(events.some((e) => e.event === 'assistant' && e.data.content === 'node 0 heard: watched'));
  // It stops at the first event that says the swarm is over.
  const last = events.at(-1);
  assert.ok(last.event === 'swarm_terminated' ||
    (last.event === 'swarm_update' && last.data.status === 'terminated'), JSON.stringify(last));
  assert.ok(events.every((e) => e.data.swarm_id === swarm));
});

test('terminate prints swarm_terminated; later injections are command_rejected, exit 1', async (t) => {
  const router = await startRouter(t);
  const swarm = await launch(router, 1);
  const r = await router.cli(['--json', 'terminate', swarm]);
  assert.equal(r.code, 0, r.err);
  const lines = jsonLines(r.out);
  assert.deepEqual(names(lines), ['swarm_terminated']);
  assert.equal(lines[0].data.swarm_id, swarm);
  const late = await router.cli(['--json', 'inject', swarm, '--prompt', 'anyone?']);
  assert.equal(late.code, 1);
  const [rejected] = jsonLines(late.out);
  assert.equal(rejected.event, 'command_rejected');
  assert.deepEqual([rejected.data.command, rejected.data.code], ['inject', 'swarm_ended']);
  assert.equal(late.err, `error: swarm ${swarm} is terminated; it takes no more injections\n`);
  const listed = jsonLines((await router.cli(['--json', 'list'])).out)[0];
  assert.equal(listed.data.swarms[swarm].status, 'terminated');
});

test('an unknown swarm is command_rejected unknown_swarm, exit 1, for every swarm command', async (t) => {
  const router = await startRouter(t);
  for (const args of [['status', 's-deadbeef'], ['terminate', 's-deadbeef'], ['attach', 's-deadbeef'],
    ['interrupt', 's-deadbeef'], ['inject', 's-deadbeef', '--prompt', 'x']]) {
    const r = await router.cli(['--json', ...args]);
    assert.equal(r.code, 1, `${args[0]}: ${r.err}`);
    const lines = jsonLines(r.out);
    assert.deepEqual(names(lines), ['command_rejected'], args[0]);
    assert.equal(lines[0].data.code, 'unknown_swarm', args[0]);
    assert.equal(r.err, 'error: unknown swarm_id "s-deadbeef"\n', args[0]);
  }
});

test('usage errors exit 2 with nothing on stdout', async (t) => {
  const router = await startRouter(t);
  for (const args of [['inject', 's-00000000', '--nodes', '3-1', '--prompt', 'x'],
    ['inject', 's-00000000'], ['inject', 's-00000000', '--prompt-file', '/nonexistent/prompt'],
    ['launch'], ['launch', '--nodes', 'two']]) {
    const r = await router.cli(['--json', ...args]);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
    assert.equal(r.out, '', args.join(' '));
    assert.notEqual(r.err, '', args.join(' '));
  }
});

test('no router and --no-autostart exits 3 with nothing on stdout', async (t) => {
  const router = await startRouter(t);
  const r = await router.cli(['--json', '--router', '127.0.0.1:1', 'list']);
  assert.equal(r.code, 3, r.err);
  assert.equal(r.out, '');
  assert.match(r.err, /^error: /);
});
