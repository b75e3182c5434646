// The documentation cannot drift (issue 16): docs/answers.md is what the schema generates, every key
// has its meaning written and no meaning outlives its key; the README stays a front door (200 lines
// at most, one page per step in docs/steps/); every relative link in README.md and docs/ resolves,
// anchors included.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { answerRows, MEANINGS, renderAnswersDoc } from '../../scripts/answers-doc.js';
import { STEP_IDS } from '../../steps/catalog.js';

const REPO = path.resolve(import.meta.dirname, '../..');
const read = (rel: string) => readFileSync(path.join(REPO, rel), 'utf8');

function markdownFiles(dir: string): string[] {
  return readdirSync(path.join(REPO, dir), { withFileTypes: true }).flatMap((entry) => {
    const rel = path.join(dir, entry.name);
    return entry.isDirectory() ? markdownFiles(rel) : entry.name.endsWith('.md') ? [rel] : [];
  });
}

/** GitHub's anchor for a heading: lower case, punctuation out, spaces to dashes. */
function slug(heading: string): string {
  return heading.trim().toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, '').replace(/ /g, '-');
}

function anchorsOf(text: string): Set<string> {
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  for (const match of text.replace(/```[\s\S]*?```/g, '').matchAll(/^#{1,6} (.+)$/gm)) {
    const base = slug(match[1]!.replace(/`/g, ''));
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    anchors.add(count === 0 ? base : `${base}-${count}`);
  }
  return anchors;
}

describe('docs/answers.md', () => {
  it('is what scripts/answers-doc.ts generates from the schema (run `npx tsx scripts/answers-doc.ts` after changing it)', () => {
    expect(read('docs/answers.md')).toBe(renderAnswersDoc());
  });

  it('has a meaning for every key of the schema, and none for a key that is gone', () => {
    const keys = answerRows().map((row) => row.key);
    expect(keys.filter((key) => !MEANINGS[key])).toEqual([]);
    expect(Object.keys(MEANINGS).filter((key) => !keys.includes(key))).toEqual([]);
    // every step with answers has its section
    for (const step of new Set(keys.map((key) => key.split('.')[0]!))) expect(read('docs/answers.md')).toContain(`## ${step}\n`);
  });
});

describe('README and docs/', () => {
  it('the README is a front door: at most 200 lines, the two commands, a page per step', () => {
    const readme = read('README.md');
    expect(readme.split('\n').length).toBeLessThanOrEqual(200);
    expect(readme).toContain('npm start');
    expect(readme).toContain('npm test');
    for (const step of STEP_IDS) {
      expect(readme, step).toContain(`docs/steps/${step}.md`);
      expect(statSync(path.join(REPO, 'docs/steps', `${step}.md`)).isFile(), step).toBe(true);
    }
    for (const page of ['docs/safety.md', 'docs/answers.md', 'CHANGELOG.md', 'LICENSE', 'NOTICE']) expect(statSync(path.join(REPO, page)).isFile(), page).toBe(true);
  });

  it('every relative link resolves, anchors included', () => {
    const broken: string[] = [];
    for (const file of ['README.md', 'CHANGELOG.md', ...markdownFiles('docs')]) {
      // Code is not a link: `[name](tpl)` is Asterisk's template syntax.
      const text = read(file).replace(/```[\s\S]*?```/g, '').replace(/`[^`\n]*`/g, '');
      for (const match of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        const link = match[1]!;
        if (/^[a-z]+:/i.test(link)) continue; // https:, mailto:
        const [target, anchor] = link.split('#') as [string, string | undefined];
        const resolved = target === '' ? path.join(REPO, file) : path.resolve(path.dirname(path.join(REPO, file)), decodeURIComponent(target));
        let exists = true;
        try {
          statSync(resolved);
        } catch {
          exists = false;
        }
        if (!exists) {
          broken.push(`${file}: ${link} (no such file)`);
          continue;
        }
        if (anchor && resolved.endsWith('.md') && !anchorsOf(readFileSync(resolved, 'utf8')).has(anchor)) broken.push(`${file}: ${link} (no such heading)`);
      }
    }
    expect(broken).toEqual([]);
  });
});
