// Harness of the web UI's browser tests: a router of the real binary with its web port, and
// Debian's chromium driven by playwright-core (never a browser download). Paths come from
// scripts/test-env.d/40-web.sh: CODESWARM_CHROMIUM (default /usr/bin/chromium) and
// CODESWARM_PLAYWRIGHT (playwright-core's directory).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

import {
  codeswarmBinary, eventually, freePort, killProcessesWithEnv, repoRoot, run, tempDir, within,
} from '../openclaw/harness.mjs';

export { codeswarmBinary, eventually, freePort, repoRoot, run, tempDir, within };

function canConnect(port) {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.on('connect', () => { socket.destroy(); resolve(true); });
    socket.on('error', () => resolve(false));
  });
}

// A router (local backend, mock agent unless `agent` says otherwise; `env` added to its
// environment, which its workers and their agents inherit) on free ports, web port included;
// restart() stops it and starts it again on the same ports and state (what a page must
// survive). Stopped, with its workers, when the test ends.
export async function startRouter(t, { agent = { kind: 'mock' }, env = {} } = {}) {
  const dir = tempDir(t, 'codeswarm-web-');
  const port = await freePort();
  const workerPort = await freePort();
  const httpPort = await freePort();
  const config = {
    router: {
      port, worker_port: workerPort, http_port: httpPort, state_dir: path.join(dir, 'state'),
      log_level: 'debug', heartbeat_seconds: 1, worker_timeout_seconds: 5, worker_lost_seconds: 30,
      worker_orphan_seconds: 60,
    },
    cluster: {
      backend: 'local', workspace_root: path.join(dir, 'ws'),
      local: { poll_interval_seconds: 0.2, terminate_grace_seconds: 2 },
    },
    agent,
  };
  const configPath = path.join(dir, 'config.json');
  fs.writeFileSync(configPath, JSON.stringify(config));
  let child = null;
  let exited = null;
  const start = async () => {
    const log = fs.openSync(path.join(dir, 'router.out'), 'a');
    child = spawn(codeswarmBinary, ['--config', configPath, 'router'], {
      stdio: ['ignore', log, log], env: { ...process.env, ...env },
    });
    fs.closeSync(log);
    exited = new Promise((resolve) => child.on('exit', resolve));
    await eventually(() => canConnect(httpPort), `the web port ${httpPort} (log: ${dir}/router.out)`);
  };
  const stop = async () => {
    if (!child) return;
    child.kill('SIGTERM');
    if ((await within(exited, 10000)) === null) child.kill('SIGKILL');
    child = null;
  };
  t.after(async () => {
    await stop();
    killProcessesWithEnv(`CODESWARM_ROUTER_ADDR=127.0.0.1:${workerPort}`);
  });
  await start();
  return {
    dir, port, httpPort, configPath, url: `http://127.0.0.1:${httpPort}/`,
    log: () => fs.readFileSync(path.join(dir, 'router.out'), 'utf8'),
    restart: async () => { await stop(); await start(); },
  };
}

// Debian's chromium, headless, through playwright-core; closed when the test ends.
export async function launchBrowser(t) {
  const playwrightDir = process.env.CODESWARM_PLAYWRIGHT;
  if (!playwrightDir) throw new Error('CODESWARM_PLAYWRIGHT is not set: source scripts/test-env.d/40-web.sh up');
  const { chromium } = await import(pathToFileURL(path.join(playwrightDir, 'index.mjs')).href);
  const browser = await chromium.launch({
    executablePath: process.env.CODESWARM_CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  t.after(() => browser.close());
  return browser;
}

// A page of `browser` with every console error and page error collected (a CSP violation is a
// console error: the tests require none); received() counts the WebSocket messages (event
// lines) the page has received.
export async function openPage(browser, url) {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const errors = [];
  page.on('console', (message) => { if (message.type() === 'error') errors.push(message.text()); });
  page.on('pageerror', (error) => errors.push(String(error)));
  // Counted in the page: playwright's own WebSocket listener would send every frame over CDP.
  await page.addInitScript(() => {
    const Native = window.WebSocket;
    window.codeswarmTestMessages = 0;
    window.WebSocket = class extends Native {
      constructor(...args) {
        super(...args);
        this.addEventListener('message', () => { window.codeswarmTestMessages++; });
      }
    };
  });
  await page.goto(url);
  return { page, errors, received: () => page.evaluate(() => window.codeswarmTestMessages) };
}
