/**
 * `ssr show TRAJECTORY`: a readable transcript of an episode. On a terminal
 * it pages one step at a time (Enter / n / space: next, p: previous, g / G:
 * first / last, q: quit); otherwise it prints every step. Colour only on a
 * terminal (and never with NO_COLOR).
 */
import * as readline from 'node:readline';
import type { Command } from 'commander';
import { readTrajectory } from '../../core/selfplay/episodes';
import type { Trajectory, TrajectoryStep } from '../../core/base/trajectory';
import { EXIT_OK, action, color, fail, intOption, printJson, requireFile } from '../util';

const MAX_BLOCK_LINES = 80;

function cutLines(text: string, max = MAX_BLOCK_LINES): string {
  const lines = text.replace(/\n$/, '').split('\n');
  if (lines.length <= max) return lines.join('\n');
  const head = Math.ceil(max / 2);
  const tail = max - head;
  return [...lines.slice(0, head), color.dim(`[... ${lines.length - max} lines ...]`), ...lines.slice(-tail)].join('\n');
}

function indent(text: string, pad = '  '): string {
  return text
    .split('\n')
    .map((l) => pad + l)
    .join('\n');
}

function colorDiff(diff: string): string {
  return diff
    .split('\n')
    .map((l) => {
      if (l.startsWith('+++') || l.startsWith('---') || l.startsWith('diff --git')) return color.bold(l);
      if (l.startsWith('@@')) return color.yellow(l);
      if (l.startsWith('+')) return color.green(l);
      if (l.startsWith('-')) return color.red(l);
      return l;
    })
    .join('\n');
}

/** The summary shown above the steps. */
export function renderHeader(t: Trajectory): string {
  const lines: string[] = [];
  lines.push(color.bold(`${t.id}  ${t.role}${t.strategy ? ` (${t.strategy})` : ''}`));
  const policy = [t.policy.kind, t.policy.model, t.policy.baseUrl ? `@ ${t.policy.baseUrl}` : ''].filter(Boolean).join(' ');
  const secs = t.timings.totalMs !== undefined ? `${(t.timings.totalMs / 1000).toFixed(1)} s` : 'unfinished';
  lines.push(`policy ${policy} | ${t.steps.length} step(s) | ${secs} | status ${t.status}${t.error ? `: ${t.error}` : ''}`);
  lines.push(`task: ${t.task.repo}${t.task.artifactId ? ` | artifact ${t.task.artifactId}` : ''}${t.task.attempt !== undefined ? ` | attempt ${t.task.attempt}` : ''}`);
  const o = t.outcome as Record<string, unknown> | undefined;
  if (o) {
    if (t.role === 'injector') {
      const verdict = o.valid === true ? color.green('valid') : color.red(`invalid${o.firstFailure ? ` (first failing check: ${String(o.firstFailure)})` : o.reason ? ` (${String(o.reason)})` : ''}`);
      lines.push(`outcome: ${verdict}`);
    } else {
      lines.push(`outcome: ${o.solved ? color.green('solved') : color.red('not solved')}${o.detail ? ` - ${String(o.detail)}` : ''}`);
    }
  }
  if (t.reward !== undefined) lines.push(`reward: ${t.reward}`);
  return lines.join('\n');
}

/** The model's text before its tool call in the step's assistant message. */
function thoughtOf(t: Trajectory, s: TrajectoryStep): string {
  const m = t.messages[s.messageIndex];
  if (!m || m.role !== 'assistant') return '';
  const at = m.content.search(/<tool:/);
  return (at < 0 ? (s.tool ? '' : m.content) : m.content.slice(0, at)).trim();
}

function renderCall(s: TrajectoryStep): string {
  const p = (s.parsed ?? {}) as Record<string, unknown>;
  switch (s.tool) {
    case 'bash':
      return color.bold('$ ') + cutLines(String(p.command ?? s.arguments));
    case 'edit':
      return (
        color.bold(`edit ${String(p.path ?? '')}`) +
        '\n' +
        indent(colorDiff(cutLines([...String(p.search ?? '').split('\n').map((l) => '-' + l), ...String(p.replace ?? '').split('\n').map((l) => '+' + l)].join('\n'))))
      );
    case 'create':
      return color.bold(`create ${String(p.path ?? '')}`) + '\n' + indent(cutLines(String(p.content ?? '')));
    case 'submit':
      return color.bold(`submit ${Array.isArray(p.paths) ? p.paths.join(' ') : s.arguments}`.trim());
    case '':
      return color.red('(no usable tool call)');
    default:
      return color.red(`unknown tool ${s.tool}`) + (s.arguments ? '\n' + indent(cutLines(s.arguments, 20)) : '');
  }
}

/** One step, as printed. */
export function renderStep(t: Trajectory, i: number): string {
  const s = t.steps[i];
  const status = s.error
    ? color.red(`error: ${s.error.split('\n')[0].slice(0, 80)}`)
    : s.exitCode === null
      ? ''
      : s.exitCode === 0
        ? color.green('exit 0')
        : color.yellow(`exit ${s.exitCode}`);
  const head = `── step ${i + 1}/${t.steps.length} · ${s.tool || 'format error'}${status ? ` · ${status}` : ''} · ${(s.durationMs / 1000).toFixed(2)} s ──`;
  const parts = [color.bold(head)];
  const thought = thoughtOf(t, s);
  if (thought) parts.push(color.dim(cutLines(thought, 30)));
  parts.push(renderCall(s));
  parts.push(color.dim('output:') + '\n' + indent(cutLines(s.output)));
  if (s.restarted) parts.push(color.yellow(`shell restarted: ${s.restarted}`));
  if (s.diff) parts.push(color.dim(`diff made by this step${s.diffTruncated ? ' (cut)' : ''}:`) + '\n' + colorDiff(cutLines(s.diff, 120)));
  return parts.join('\n');
}

async function page(t: Trajectory, start: number): Promise<void> {
  const stdin = process.stdin;
  let i = start;
  const draw = () => {
    process.stdout.write('\x1b[2J\x1b[H');
    process.stdout.write(renderHeader(t) + '\n\n' + renderStep(t, i) + '\n\n');
    process.stdout.write(color.dim(`[${i + 1}/${t.steps.length}]  Enter/n next · p previous · g first · G last · q quit`) + '\n');
  };
  readline.emitKeypressEvents(stdin);
  stdin.setRawMode?.(true);
  stdin.resume();
  draw();
  await new Promise<void>((resolve) => {
    const onKey = (str: string | undefined, key: { name?: string; ctrl?: boolean; shift?: boolean } | undefined) => {
      const name = key?.name;
      if ((key?.ctrl && name === 'c') || name === 'q' || name === 'escape') {
        stdin.removeListener('keypress', onKey);
        stdin.setRawMode?.(false);
        stdin.pause();
        resolve();
        return;
      }
      if (name === 'return' || name === 'enter' || name === 'n' || name === 'space' || name === 'right' || name === 'down' || name === 'j') {
        if (i < t.steps.length - 1) i++;
      } else if (name === 'p' || name === 'left' || name === 'up' || name === 'k' || name === 'backspace') {
        if (i > 0) i--;
      } else if (str === 'G') i = t.steps.length - 1;
      else if (name === 'g') i = 0;
      else return;
      draw();
    };
    stdin.on('keypress', onKey);
  });
}

export function register(program: Command): void {
  program
    .command('show')
    .description('show a trajectory step by step (on a terminal: Enter/n next, p previous, q quit)')
    .argument('<trajectory>', 'a trajectory JSON file (trajectory.json of an episode)')
    .option('--step <n>', 'show only step N (1-based)')
    .option('--json', 'print the trajectory (or the step) as JSON')
    .action(
      action(async (file: string, o: Record<string, string | boolean | undefined>) => {
        const t = await readTrajectory(requireFile(file, 'TRAJECTORY'));
        const n = intOption(o.step as string | undefined, '--step', 1);
        if (n !== undefined && n > t.steps.length) fail(`--step ${n}: the trajectory has ${t.steps.length} step(s)`);
        if (o.json) {
          printJson(n !== undefined ? t.steps[n - 1] : t);
          return EXIT_OK;
        }
        if (t.steps.length === 0) {
          process.stdout.write(renderHeader(t) + '\n\n(no steps)\n');
          return EXIT_OK;
        }
        if (n !== undefined) {
          process.stdout.write(renderHeader(t) + '\n\n' + renderStep(t, n - 1) + '\n');
          return EXIT_OK;
        }
        if (process.stdout.isTTY && process.stdin.isTTY) {
          await page(t, 0);
          return EXIT_OK;
        }
        process.stdout.write(renderHeader(t) + '\n');
        for (let i = 0; i < t.steps.length; i++) process.stdout.write('\n' + renderStep(t, i) + '\n');
        return EXIT_OK;
      }),
    );
}
