/**
 * Reversing a git-style unified diff in text: the solver's specification is
 * the reverse of the injector's test_weaken.diff (the tests put back).
 */

function swapHunkHeader(line: string): string {
  const m = /^@@ -(\d+(?:,\d+)?) \+(\d+(?:,\d+)?) @@(.*)$/.exec(line);
  if (!m) return line;
  return `@@ -${m[2]} +${m[1]} @@${m[3]}`;
}

/**
 * Returns the diff that undoes `diff`: old and new sides swapped, added and
 * removed lines swapped (removals listed first in each change block, as
 * diff tools write them), file creations become deletions and back. Binary
 * patches are left out with a note, as they cannot be reversed in text.
 */
export function reverseDiff(diff: string): string {
  const lines = diff.split('\n');
  const out: string[] = [];
  let minus: string[] = [];
  let plus: string[] = [];
  const flush = () => {
    out.push(...minus, ...plus);
    minus = [];
    plus = [];
  };
  // Lines left in the current hunk, from its header: old side and new side.
  let oldLeft = 0;
  let newLeft = 0;
  let skipBinary = false;
  /** Where the last hunk line went: a "\\ No newline" marker follows it. */
  let last: string[] = out;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (oldLeft > 0 || newLeft > 0) {
      if (line.startsWith('+')) {
        minus.push('-' + line.slice(1));
        last = minus;
        newLeft--;
        continue;
      }
      if (line.startsWith('-')) {
        plus.push('+' + line.slice(1));
        last = plus;
        oldLeft--;
        continue;
      }
      if (line.startsWith('\\')) {
        // "\ No newline at end of file" belongs to the line before it.
        last.push(line);
        continue;
      }
      if (line.startsWith(' ') || line === '') {
        flush();
        out.push(line);
        last = out;
        oldLeft--;
        newLeft--;
        continue;
      }
      oldLeft = newLeft = 0;
    }
    if (line.startsWith('\\')) {
      // A marker right after the hunk's last line.
      last.push(line);
      continue;
    }
    last = out;
    flush();
    if (line.startsWith('diff --git ')) {
      skipBinary = false;
      const m = /^diff --git a\/(.*) b\/(.*)$/.exec(line);
      out.push(m ? `diff --git a/${m[2]} b/${m[1]}` : line);
      continue;
    }
    if (skipBinary) continue;
    if (line.startsWith('@@')) {
      const m = /^@@ -\d+(?:,(\d+))? \+\d+(?:,(\d+))? @@/.exec(line);
      oldLeft = m ? (m[1] === undefined ? 1 : Number(m[1])) : 0;
      newLeft = m ? (m[2] === undefined ? 1 : Number(m[2])) : 0;
      out.push(swapHunkHeader(line));
      continue;
    }
    if (line.startsWith('--- ')) {
      const next = lines[i + 1];
      if (next !== undefined && next.startsWith('+++ ')) {
        out.push('--- ' + next.slice(4).replace(/^b\//, 'a/'), '+++ ' + line.slice(4).replace(/^a\//, 'b/'));
        i++;
        continue;
      }
    }
    if (line.startsWith('new file mode ')) out.push('deleted file mode ' + line.slice('new file mode '.length));
    else if (line.startsWith('deleted file mode ')) out.push('new file mode ' + line.slice('deleted file mode '.length));
    else if (line.startsWith('old mode ')) out.push('new mode ' + line.slice('old mode '.length));
    else if (line.startsWith('new mode ')) out.push('old mode ' + line.slice('new mode '.length));
    else if (line.startsWith('rename from ')) out.push('rename to ' + line.slice('rename from '.length));
    else if (line.startsWith('rename to ')) out.push('rename from ' + line.slice('rename to '.length));
    else if (line.startsWith('copy from ') || line.startsWith('copy to ')) out.push(line);
    else if (/^index [0-9a-f]+\.\.[0-9a-f]+/.test(line)) {
      const m = /^index ([0-9a-f]+)\.\.([0-9a-f]+)(.*)$/.exec(line)!;
      out.push(`index ${m[2]}..${m[1]}${m[3]}`);
    } else if (line === 'GIT binary patch' || line.startsWith('Binary files ')) {
      out.push('(binary change left out)');
      skipBinary = true;
    } else out.push(line);
  }
  flush();
  // Rename headers come in pairs; after swapping, git expects "rename from" first.
  for (let i = 0; i + 1 < out.length; i++) {
    if (out[i].startsWith('rename to ') && out[i + 1].startsWith('rename from ')) [out[i], out[i + 1]] = [out[i + 1], out[i]];
    if (out[i].startsWith('new mode ') && out[i + 1].startsWith('old mode ')) [out[i], out[i + 1]] = [out[i + 1], out[i]];
  }
  return out.join('\n');
}
