// The skill inside the real OpenClaw (from the npm registry, pinned by
// scripts/test-env.d/30-openclaw.sh): installed by integrations/openclaw/install.sh, listed as
// ready by OpenClaw's skill loader, and used in one agent turn (`openclaw agent exec`, OpenClaw's
// embedded runtime, no Gateway) whose model is the stub model server playing a scripted
// conversation that follows SKILL.md: read the skill, write the prompts to files, launch, follow
// in the background, inject and terminate through OpenClaw's `exec` tool, read the follower with
// `process`, and answer with what the nodes said.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import { codeswarmBinary, jsonLines, killProcessesWithEnv, repoRoot, run, startRouter, startStub, tempDir }
  from './harness.mjs';
import { openclawBinDir, openclawMissing } from './openclaw.mjs';
import { skillCommands } from './skill_file.mjs';

const skip = openclawMissing() || false;
const installScript = path.join(repoRoot, 'integrations/openclaw/install.sh');

// A private OpenClaw home (config, state, managed skills) whose model is the stub's.
function openclawHome(t, stubPort, { codeswarmConfig } = {}) {
  const dir = tempDir(t, 'codeswarm-openclaw-home-');
  const home = path.join(dir, 'home');
  const workspace = path.join(dir, 'workspace');
  fs.mkdirSync(path.join(home, '.openclaw'), { recursive: true });
  fs.mkdirSync(workspace);
  const config = {
    models: {
      mode: 'replace',
      providers: {
        stub: {
          baseUrl: `http://127.0.0.1:${stubPort}/v1`, apiKey: 'stub-key', api: 'openai-completions',
          models: [{ id: 'stub-model', name: 'Stub model', reasoning: false, input: ['text'],
            contextWindow: 128000, maxTokens: 4096 }],
        },
      },
    },
    agents: { defaults: { model: { primary: 'stub/stub-model' }, workspace } },
    logging: { file: path.join(dir, 'openclaw.log') },  // not the machine-wide /tmp/openclaw
    // exec runs commands with the login shell's PATH: make the codeswarm under test the one found.
    tools: { exec: { pathPrepend: [path.dirname(codeswarmBinary)] } },
  };
  if (codeswarmConfig) {
    // What SKILL.md's configure step stores (skill_commands.test.mjs runs that command).
    config.skills = { entries: { codeswarm: { env: { CODESWARM_CONFIG: codeswarmConfig } } } };
  }
  fs.writeFileSync(path.join(home, '.openclaw', 'openclaw.json'), JSON.stringify(config, null, 2));
  // Whatever OpenClaw left running (a background exec; a router that codeswarm started by
  // itself had the skill's config not reached it) ends with the test.
  t.after(() => killProcessesWithEnv(`HOME=${home}`));
  const env = {
    HOME: home,
    PATH: [path.dirname(codeswarmBinary), openclawBinDir(dir), process.env.PATH].join(':'),
    OPENCLAW_STATE_DIR: undefined, OPENCLAW_CONFIG_PATH: undefined, CODESWARM_CONFIG: undefined,
    // exec then runs commands with sh (dash here, no bash features), whatever shell the one who
    // runs the tests has: the skill's commands must work there.
    SHELL: undefined,
  };
  return { dir, home, workspace, env };
}

// The tool calls of a Chat Completions conversation with their results:
// [{name, args, output}], oldest first.
function toolCalls(messages) {
  const outputs = new Map(messages.filter((m) => m.role === 'tool')
    .map((m) => [m.tool_call_id, typeof m.content === 'string' ? m.content
      : m.content.map((part) => part.text ?? '').join('')]));
  return messages.filter((m) => m.role === 'assistant').flatMap((m) => m.tool_calls ?? [])
    .map((call) => ({ name: call.function.name, args: JSON.parse(call.function.arguments),
      output: outputs.get(call.id) }));
}

async function skillsList(env, cwd) {
  const r = await run(['openclaw', 'skills', 'list', '--json'], { env, cwd, timeoutMs: 120000 });
  assert.equal(r.code, 0, r.out + r.err);
  return JSON.parse(r.out.slice(r.out.indexOf('{')));
}

test('install.sh puts the skill where OpenClaw finds it, and OpenClaw reports it ready',
  { skip }, async (t) => {
    const stub = await startStub(t);
    const oc = openclawHome(t, stub.port);
    const installed = await run(['sh', installScript], { env: oc.env, timeoutMs: 120000 });
    assert.equal(installed.code, 0, installed.out + installed.err);
    const skillFile = path.join(oc.home, '.openclaw/skills/codeswarm/SKILL.md');
    assert.equal(fs.readFileSync(skillFile, 'utf8'),
      fs.readFileSync(path.join(repoRoot, 'integrations/openclaw/codeswarm/SKILL.md'), 'utf8'));
    const again = await run(['sh', installScript], { env: oc.env, timeoutMs: 120000 });
    assert.equal(again.code, 0, `a second install replaces the first: ${again.out}${again.err}`);

    const listed = await skillsList(oc.env, oc.workspace);
    const skill = listed.skills.find((s) => s.name === 'codeswarm');
    assert.ok(skill, `OpenClaw does not list the skill: ${JSON.stringify(listed.skills.map((s) => s.name))}`);
    assert.equal(skill.eligible, true, JSON.stringify(skill));

    // Without codeswarm on PATH the skill's requirement is not met: OpenClaw holds it back.
    const noBinary = { ...oc.env, PATH: oc.env.PATH.split(':').slice(1).join(':') };
    const held = (await skillsList(noBinary, oc.workspace)).skills.find((s) => s.name === 'codeswarm');
    assert.equal(held?.eligible, false, JSON.stringify(held));

    // The workspace form, and the fallback copy when openclaw is not on PATH.
    const ws = await run(['sh', installScript, '--workspace', oc.workspace], { env: oc.env });
    assert.equal(ws.code, 0, ws.err);
    assert.ok(fs.existsSync(path.join(oc.workspace, 'skills/codeswarm/SKILL.md')));
    const copyHome = path.join(oc.dir, 'copy-home');
    const copied = await run(['sh', installScript], {
      env: { HOME: copyHome, PATH: [path.dirname(codeswarmBinary), '/usr/bin', '/bin'].join(':') },
    });
    assert.equal(copied.code, 0, copied.err);
    assert.ok(fs.existsSync(path.join(copyHome, '.openclaw/skills/codeswarm/SKILL.md')));
  });

// The command of SKILL.md that starts with `prefix`, its placeholders filled in.
function skillCommand(prefix, values) {
  const command = skillCommands().find((c) => c.startsWith(prefix));
  assert.ok(command, `SKILL.md shows no command starting with ${prefix}`);
  return command.replace(/<([a-z_:]+)>/g, (whole, name) => {
    assert.ok(name in values, `no value for ${whole}`);
    return values[name];
  });
}

test('an OpenClaw agent turn launches, injects and terminates a swarm through exec, following the skill',
  { skip }, async (t) => {
    const router = await startRouter(t);
    const stub = await startStub(t);
    const oc = openclawHome(t, stub.port, { codeswarmConfig: router.configPath });
    const installed = await run(['sh', installScript], { env: oc.env, timeoutMs: 120000 });
    assert.equal(installed.code, 0, installed.out + installed.err);

    const task = 'Say which file you would review first: src/gemm.cc or "src/blas.cc"?';
    // The assistant the stub plays: it reads the skill OpenClaw listed, then does what it says.
    // {swarm_id} and the answers come from the outputs of its own earlier tool calls.
    const script = {
      captures: {
        skill_location: { in: 'system', pattern: '<name>codeswarm</name>\\s*<description>[^<]*</description>\\s*<location>([^<]+)</location>' },
        skill_rules: { in: 'tools', pattern: '(Never put text from the user)' },
        swarm_id: { in: 'tools', pattern: '"event":"swarm_launched","data":\\{"swarm_id":"(s-[0-9a-f]{8})"' },
        answers: { in: 'tools', pattern: '"event":"assistant",.*?"content":"((?:[^"\\\\]|\\\\.)*)"', join: ' | ' },
        terminated: { in: 'tools', pattern: '"event":"swarm_terminated","data":\\{[^}]*"swarm_id":"(s-[0-9a-f]{8})"' },
        // exec's answer for a command it moved to the background names its process session.
        follow_session: { in: 'tools', pattern: 'Command still running \\(session ([A-Za-z0-9_-]+)' },
        // Only the follower (attach) prints swarm_status here: its log reached the conversation.
        followed: { in: 'tools', pattern: '"event":"swarm_status","data":\\{"swarm_id":"(s-[0-9a-f]{8})"' },
      },
      steps: [
        { tool: 'read', arguments: { path: '{skill_location}' } },
        { tool: 'write', arguments: { path: 'codeswarm-prompts/system.md', content: 'You are a careful C++ reviewer. {skill_rules}.' } },
        { tool: 'exec', arguments: { command: skillCommand('codeswarm --json launch', { n: '2', prompt_file: 'codeswarm-prompts/system.md' }) } },
        { tool: 'exec', arguments: { command: skillCommand('codeswarm --json attach', { swarm_id: '{swarm_id}' }), background: true, timeoutSeconds: 0 } },
        { tool: 'write', arguments: { path: 'codeswarm-prompts/task.md', content: task } },
        { tool: 'exec', arguments: { command: skillCommand('codeswarm --json inject', { swarm_id: '{swarm_id}', nodes: 'all', prompt_file: 'codeswarm-prompts/task.md' }) } },
        { tool: 'exec', arguments: { command: skillCommand('codeswarm --json terminate', { swarm_id: '{swarm_id}' }) } },
        { tool: 'process', arguments: { action: 'log', sessionId: '{follow_session}' } },
        { reply: 'Swarm {swarm_id} answered: {answers}. Followed swarm {followed}. Terminated swarm {terminated}.' },
      ],
    };
    await stub.control({ reset: true, default: { script } });

    const turn = await run(['openclaw', 'agent', 'exec', '--json', '--cwd', oc.workspace,
      '--state-dir', path.join(oc.home, '.openclaw'),
      'Launch a 2-node codeswarm, ask every node which file to review first, then terminate it.'],
    { env: oc.env, cwd: oc.workspace, timeoutMs: 240000 });
    const result = JSON.parse(turn.out.slice(turn.out.indexOf('{')));
    assert.equal(turn.code, 0, turn.out + turn.err);
    t.diagnostic(`OpenClaw's answer: ${result.final}`);
    assert.equal(result.status, 'ok', turn.out);
    assert.deepEqual([...new Set(result.toolSummary.tools)].sort(), ['exec', 'process', 'read', 'write'],
      turn.out);

    // The router saw it all: one swarm, launched with the system prompt written to the file,
    // one completed turn per node, and terminated.
    const list = jsonLines((await router.cli(['--json', 'list'])).out)[0].data.swarms;
    const ids = Object.keys(list);
    assert.equal(ids.length, 1, `the router under test should know one swarm: ${JSON.stringify(list)}`);
    const swarm = ids[0];
    assert.equal(list[swarm].status, 'terminated');
    assert.match(list[swarm].system_prompt, /^You are a careful C\+\+ reviewer\. Never put text/);
    // What each tool call of the turn printed: the evidence when the router saw something else.
    const requests = await stub.requests();
    const calls = toolCalls(requests.at(-1).body.messages);
    // One line per call, the inject's first (CI keeps the first lines of a failure), then the
    // router's log.
    const chats = requests.filter((r) => r.path === '/v1/chat/completions');
    const seconds = chats.slice(1).map((r, i) => `${calls[i]?.name} ${(r.time - chats[i].time).toFixed(1)} s`);
    t.diagnostic(`from one model request to the next: ${seconds.join(', ')}`);
    const oneLine = (c) => `${c.name}: ${String(c.output).replaceAll('\n', ' ⏎ ').slice(-600)}`;
    const transcript = () => [5, 6, 3, 2, 7].map((i) => oneLine(calls[i] ?? { name: `call ${i}`, output: 'none' }))
      .join('\n') + `\n--- router log (end)\n${router.log().slice(-6000)}`;
    const status = jsonLines((await router.cli(['--json', 'status', swarm])).out)[0].data;
    assert.deepEqual(status.nodes.map((n) => n.turns_completed), [1, 1],
      `turns completed ${JSON.stringify(status.nodes.map((n) => n.turns_completed))}, not [1,1]; ${seconds.join(', ')}\n${transcript()}`);

    // The nodes' answers came back to the model in the tools' results, through the inject and
    // through the background follower; the model's final answer, which quotes them, is the
    // turn's answer.
    assert.equal(requests.filter((r) => r.path === '/v1/chat/completions').length, script.steps.length);
    assert.deepEqual(calls.map((c) => c.name), script.steps.filter((s) => s.tool).map((s) => s.tool));
    const [inject, followLog] = [calls[5], calls[7]];
    assert.match(inject.args.command, new RegExp(`^codeswarm --json inject ${swarm} --nodes all `));
    assert.deepEqual([followLog.args.action, calls[3].args.background], ['log', true]);
    for (const output of [inject.output, followLog.output]) {
      const events = jsonLines(output.replace(/\n\n[^{][^\n]*$/, ''));  // the tool's own note, if any
      for (const node of [0, 1]) {
        const answer = events.find((e) => e.event === 'assistant' && e.data.node_id === node);
        assert.equal(answer?.data.content, `node ${node} heard: ${task}`, output);
        const end = events.find((e) => e.event === 'turn_complete' && e.data.node_id === node);
        assert.equal(end?.data.status, 'completed', output);
      }
    }
    const heard = (node) => `node ${node} heard: ${task.replaceAll('"', '\\"')}`;
    const final = result.final.match(/^Swarm (\S+) answered: (.*)\. Followed swarm (\S+)\. Terminated swarm (\S+)\.$/);
    assert.ok(final, result.final);
    assert.deepEqual([final[1], final[3], final[4]], [swarm, swarm, swarm]);
    assert.deepEqual(final[2].split(' | ').sort(), [heard(0), heard(1)]);  // in the order they came
  });
