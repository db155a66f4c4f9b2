// Test harness for the --json contract and the OpenClaw skill: runs the real `codeswarm` binary
// (router, workers, CLI) on loopback with a private config, state directory and ports, and the
// stub model server of tests/stub/. Node's built-in modules only.
//
// Environment: CODESWARM_BINARY (default <repo>/build/codeswarm), CODESWARM_PYTHON (default
// python3); for OpenClaw (scripts/test-env.d/30-openclaw.sh exports them): CODESWARM_NODE24,
// CODESWARM_OPENCLAW. CODESWARM_KEEP_TEST_DIRS=1 keeps the temporary directories.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const codeswarmBinary =
  process.env.CODESWARM_BINARY || path.join(repoRoot, 'build', 'codeswarm');
export const skillDir = path.join(repoRoot, 'integrations', 'openclaw', 'codeswarm');

export function tempDir(t, prefix = 'codeswarm-openclaw-') {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  if (process.env.CODESWARM_KEEP_TEST_DIRS !== '1') {
    t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  }
  return dir;
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

// This process's environment with `changes` applied (a variable set to undefined is removed).
export function environment(changes) {
  const env = { ...process.env, ...changes };
  for (const [name, value] of Object.entries(env)) if (value === undefined) delete env[name];
  return env;
}

// Runs a program to its end: {code, signal, out, err}. Kills it (and fails) after timeoutMs.
export function run(argv, { env = {}, input = '', cwd, timeoutMs = 60000 } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), {
      cwd, env: environment(env), stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`timed out after ${timeoutMs} ms: ${argv.join(' ')}\nstdout: ${out}\nstderr: ${err}`));
    }, timeoutMs);
    child.on('error', (e) => { clearTimeout(timer); reject(e); });
    child.on('close', (code, signal) => { clearTimeout(timer); resolve({ code, signal, out, err }); });
    child.stdin.on('error', () => {});  // a command that never reads its stdin
    child.stdin.end(input);
  });
}

// Every stdout line parsed as JSON (a line that is not JSON throws, naming it).
export function jsonLines(text) {
  return text.split('\n').filter((line) => line !== '').map((line) => {
    try {
      return JSON.parse(line);
    } catch (e) {
      throw new Error(`stdout line is not JSON: ${line}`);
    }
  });
}

// The value of `promise`, or null when it has not settled within timeoutMs (its timer never
// keeps the process alive past that).
export async function within(promise, timeoutMs) {
  let timer;
  const expired = new Promise((resolve) => { timer = setTimeout(() => resolve(null), timeoutMs); });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}

// Polls cond() every 20 ms until it is truthy (returned) or the deadline passes (throws).
export async function eventually(cond, what, timeoutMs = 20000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await cond();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`gave up after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function canConnect(port) {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.on('connect', () => { socket.destroy(); resolve(true); });
    socket.on('error', () => resolve(false));
  });
}

// Pids of live processes whose environment holds `entry` ("NAME=value").
export function processesWithEnv(entry) {
  const pids = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const environ = fs.readFileSync(`/proc/${name}/environ`, 'latin1');
      if (environ.split('\0').includes(entry)) pids.push(Number(name));
    } catch {
      // gone, or not ours to read
    }
  }
  return pids;
}

// Kills the processes whose environment holds `entry`, with their process groups.
export function killProcessesWithEnv(entry) {
  for (const pid of processesWithEnv(entry)) {
    try { process.kill(-pid, 'SIGKILL'); } catch { /* not a group leader, or gone */ }
    try { process.kill(pid, 'SIGKILL'); } catch { /* already gone */ }
  }
}

// A router of the real binary with its own config (local backend, mock agent), started on free
// ports; stopped, with every worker it started, when the test ends.
export async function startRouter(t, { agent = { kind: 'mock' } } = {}) {
  const dir = tempDir(t);
  const port = await freePort();
  const workerPort = await freePort();
  const config = {
    router: {
      port, worker_port: workerPort, state_dir: path.join(dir, 'state'), log_level: 'debug',
      heartbeat_seconds: 1, worker_timeout_seconds: 5, worker_orphan_seconds: 60,
    },
    cluster: {
      backend: 'local', workspace_root: path.join(dir, 'ws'),
      local: { poll_interval_seconds: 0.2, terminate_grace_seconds: 2 },
    },
    agent,
  };
  const configPath = path.join(dir, 'config.json');
  fs.writeFileSync(configPath, JSON.stringify(config));
  const log = fs.openSync(path.join(dir, 'router.out'), 'w');
  const child = spawn(codeswarmBinary, ['--config', configPath, 'router'], {
    stdio: ['ignore', log, log],
  });
  fs.closeSync(log);
  const exited = new Promise((resolve) => child.on('exit', resolve));
  t.after(async () => {
    child.kill('SIGTERM');
    if ((await within(exited, 10000)) === null) child.kill('SIGKILL');
    // Workers outlive their router by design; a test's must not outlive the test.
    killProcessesWithEnv(`CODESWARM_ROUTER_ADDR=127.0.0.1:${workerPort}`);
  });
  await eventually(() => canConnect(port), `the router on port ${port} (log: ${dir}/router.out)`);
  return {
    dir, port, configPath, address: `127.0.0.1:${port}`,
    log: () => fs.readFileSync(path.join(dir, 'router.out'), 'utf8'),
    // Runs `codeswarm --config <config> --no-autostart <args>`.
    cli: (args, options = {}) =>
      run([codeswarmBinary, '--config', configPath, '--no-autostart', ...args], options),
  };
}

// A command running in the background whose stdout lines are collected as they come. With
// `shell`, argv is a command line for sh (dash on Debian: what OpenClaw's exec runs when SHELL
// is not set).
export function startBackground(argv, { env = {}, cwd, shell = false } = {}) {
  const child = shell
    ? spawn('sh', ['-c', argv], { cwd, env: environment(env), detached: true })
    : spawn(argv[0], argv.slice(1), { cwd, env: environment(env), detached: true });
  const lines = [];
  let err = '';
  readline.createInterface({ input: child.stdout }).on('line', (line) => lines.push(line));
  child.stderr.on('data', (d) => { err += d; });
  const closed = new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  return {
    child, lines, closed, stderr: () => err,
    // Waits for the end (throws after timeoutMs): {code, signal}.
    wait: async (timeoutMs = 20000) => {
      const status = await within(closed, timeoutMs);
      if (status === null) {
        throw new Error(`still running after ${timeoutMs} ms: ${argv}\n${lines.join('\n')}\n${err}`);
      }
      return status;
    },
    kill: () => { try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ } },
  };
}

// The stub model server (tests/stub/stub_model_server.py) on a free port; `control(obj)` posts
// to its /control, `requests()` reads what it recorded.
export async function startStub(t) {
  const python = process.env.CODESWARM_PYTHON || 'python3';
  // Its stderr (tracebacks of connections a client dropped) goes to a file beside the test's.
  const log = fs.openSync(path.join(tempDir(t, 'codeswarm-stub-'), 'stub.err'), 'w');
  const child = spawn(python, [path.join(repoRoot, 'tests/stub/stub_model_server.py'),
    '--exit-on-stdin-eof'], { stdio: ['pipe', 'pipe', log] });
  fs.closeSync(log);
  t.after(() => { child.stdin.end(); child.kill('SIGKILL'); });
  const port = await new Promise((resolve, reject) => {
    const lines = readline.createInterface({ input: child.stdout });
    lines.once('line', (line) => resolve(Number(line)));
    child.on('exit', (code) => reject(new Error(`stub model server exited (${code})`)));
  });
  const base = `http://127.0.0.1:${port}`;
  return {
    port, base,
    control: async (body) => {
      const response = await fetch(`${base}/control`, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
      });
      if (!response.ok) throw new Error(`stub /control: ${response.status} ${await response.text()}`);
    },
    requests: async () => (await (await fetch(`${base}/requests`)).json()).requests,
  };
}

// Event names of the lines, in order.
export const names = (events) => events.map((e) => e.event);
