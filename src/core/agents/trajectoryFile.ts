/** Reading and writing one trajectory JSON document (format `ssr-trajectory/1`). */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { TRAJECTORY_FORMAT, type Trajectory } from '../base/trajectory';
import { UsageError } from '../base/errors';

/** Writes a trajectory as pretty JSON (atomically: a temporary file, then a rename). */
export async function writeTrajectory(file: string, t: Trajectory): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  await fs.writeFile(tmp, JSON.stringify(t, null, 2) + '\n');
  await fs.rename(tmp, file);
}

/** Checks the shape of a parsed trajectory; returns the first problem or undefined. */
export function trajectoryProblem(v: unknown): string | undefined {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return 'it is not a JSON object';
  const t = v as Partial<Trajectory> & { format?: unknown };
  if (t.format !== TRAJECTORY_FORMAT) {
    return t.format === undefined
      ? `it has no "format" field (expected "${TRAJECTORY_FORMAT}")`
      : `its format is ${JSON.stringify(t.format)}, expected "${TRAJECTORY_FORMAT}"`;
  }
  if (t.role !== 'injector' && t.role !== 'solver') return `its role is ${JSON.stringify(t.role)}, expected "injector" or "solver"`;
  if (!Array.isArray(t.messages)) return 'it has no "messages" array';
  if (!Array.isArray(t.steps)) return 'it has no "steps" array';
  for (const [i, m] of t.messages.entries()) {
    if (!m || typeof m !== 'object' || typeof m.role !== 'string' || typeof m.content !== 'string') {
      return `message ${i} is not a {role, content} object`;
    }
  }
  for (const [i, s] of t.steps.entries()) {
    if (!s || typeof s !== 'object' || typeof s.tool !== 'string' || typeof s.output !== 'string') {
      return `step ${i} is not a {tool, output, ...} object`;
    }
  }
  return undefined;
}

/** Reads a trajectory file; throws a UsageError that says what is wrong with a bad file. */
export async function readTrajectory(file: string): Promise<Trajectory> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UsageError(`cannot read the trajectory ${file}: ${code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${file} is not a trajectory: not valid JSON (${(err as Error).message})`);
  }
  const t = v as Partial<Trajectory>;
  if (t && typeof t === 'object' && !Array.isArray(t) && t.format === TRAJECTORY_FORMAT) {
    // Older writers may omit the arrays the loop always fills.
    t.tokens ??= [];
    t.steps ??= [];
  }
  const problem = trajectoryProblem(v);
  if (problem) throw new UsageError(`${file} is not an SSR trajectory: ${problem}`);
  return v as Trajectory;
}
