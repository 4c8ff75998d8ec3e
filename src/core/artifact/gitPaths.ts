/**
 * The paths a git diff writes to, read from its own lines rather than from a
 * parser that needs hunks: `diff --git` headers (plain or C-quoted, as git
 * writes a name with a space, a tab or a non-ASCII byte), `rename to`,
 * `copy to` and `+++` lines. A binary hunk or a pure rename has no `+++`
 * line, and a quoted name is still a name: the harness diff must see both.
 */

/** Decodes a git C-quoted path ("a/\303\251.pth" -> a/é.pth); a plain path is returned as it is. */
export function unquoteGitPath(p: string): string {
  if (!(p.startsWith('"') && p.endsWith('"') && p.length >= 2)) return p;
  const bytes: number[] = [];
  const body = p.slice(1, -1);
  const esc: Record<string, number> = { n: 10, t: 9, r: 13, a: 7, b: 8, f: 12, v: 11, '"': 34, '\\': 92 };
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c !== '\\') {
      bytes.push(...Buffer.from(c, 'utf8'));
      continue;
    }
    const oct = /^[0-7]{3}/.exec(body.slice(i + 1));
    if (oct) {
      bytes.push(parseInt(oct[0], 8));
      i += 3;
    } else if (body[i + 1] in esc) {
      bytes.push(esc[body[i + 1]]);
      i += 1;
    } else bytes.push(92);
  }
  return Buffer.from(bytes).toString('utf8');
}

const stripSide = (p: string) => unquoteGitPath(p.replace(/\t.*$/, '').trim()).replace(/^[ab]\//, '');

/** The new path of a `diff --git A B` header: quoted, or plain with the same name on both sides. */
export function headerNewPath(line: string): string | undefined {
  const rest = line.slice('diff --git '.length);
  const quoted = /^(?:"(?:[^"\\]|\\.)*"|\S+) ("(?:[^"\\]|\\.)*")$/.exec(rest);
  if (quoted) return stripSide(quoted[1]);
  const same = /^a\/(.+) b\/\1$/.exec(rest);
  if (same) return same[1];
  const plain = /^\S+ (\S+)$/.exec(rest);
  return plain ? stripSide(plain[1]) : undefined;
}

/** Every path a git diff writes to (added, changed, renamed or copied to), leaving out the files it deletes. */
export function writtenPaths(patch: string): string[] {
  const out = new Set<string>();
  const deleted = new Set<string>();
  let current: string | undefined;
  let previous = '';
  for (const line of patch.split('\n')) {
    const afterMinus = previous.startsWith('--- ');
    previous = line;
    if (line.startsWith('diff --git ')) {
      current = headerNewPath(line);
      if (current) out.add(current);
    } else if (line.startsWith('rename to ') || line.startsWith('copy to ')) out.add(stripSide(line.replace(/^(rename|copy) to /, '')));
    // A `+++` line names a file only right after its `---` line (inside a hunk it is an added line that starts with "++").
    else if (afterMinus && line.startsWith('+++ ') && !line.startsWith('+++ /dev/null')) out.add(stripSide(line.slice(4)));
    else if (line.startsWith('deleted file mode') && current) deleted.add(current);
  }
  return [...out].filter((p) => p && !deleted.has(p));
}
