// The real OpenClaw, installed from the npm registry by scripts/test-env.d/30-openclaw.sh:
// CODESWARM_OPENCLAW (its openclaw.mjs) run by CODESWARM_NODE24 (it needs node >= 24.16).
import fs from 'node:fs';
import path from 'node:path';

// Why OpenClaw cannot run here, or '' when it can. With CODESWARM_REQUIRE_OPENCLAW=1 (what
// scripts/test.sh sets) a missing OpenClaw is an error, not a reason to skip.
export function openclawMissing() {
  const node = process.env.CODESWARM_NODE24;
  const openclaw = process.env.CODESWARM_OPENCLAW;
  let why = '';
  if (!node || !openclaw) {
    why = 'CODESWARM_NODE24 and CODESWARM_OPENCLAW are not set (scripts/test-env.d/30-openclaw.sh up sets them)';
  } else if (!fs.existsSync(node) || !fs.existsSync(openclaw)) {
    why = `no ${fs.existsSync(node) ? openclaw : node}`;
  }
  if (why && process.env.CODESWARM_REQUIRE_OPENCLAW === '1') throw new Error(why);
  return why;
}

// A directory under `dir` holding an `openclaw` command that runs the real one, so that commands
// written for a shell (SKILL.md's, the install script's) find it on PATH.
export function openclawBinDir(dir) {
  const bin = path.join(dir, 'openclaw-bin');
  fs.mkdirSync(bin, { recursive: true });
  if (!openclawMissing()) {
    const quote = (s) => `'${s.replaceAll("'", "'\\''")}'`;
    fs.writeFileSync(path.join(bin, 'openclaw'),
      `#!/bin/sh\nexec ${quote(process.env.CODESWARM_NODE24)} ${quote(process.env.CODESWARM_OPENCLAW)} "$@"\n`,
      { mode: 0o755 });
  }
  return bin;
}
