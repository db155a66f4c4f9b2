// Reads integrations/openclaw/codeswarm/SKILL.md: its frontmatter and the commands it shows.
import fs from 'node:fs';
import path from 'node:path';

import { skillDir } from './harness.mjs';

export const skillPath = path.join(skillDir, 'SKILL.md');

// Every line of every ```sh block, in order.
export function skillCommands(text = fs.readFileSync(skillPath, 'utf8')) {
  const commands = [];
  for (const block of text.matchAll(/^```sh\n([\s\S]*?)^```$/gm)) {
    for (const line of block[1].split('\n')) {
      if (line.trim() !== '') commands.push(line);
    }
  }
  return commands;
}
