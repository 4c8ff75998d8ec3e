/**
 * `ssr doctor`'s training half: what the machine has for training, as
 * `python -m ssr_runtime.doctor --json` reports it (torch, CUDA, the
 * libraries for LoRA and ONNX export).
 */
import { CancelledError, EnvironmentError } from '../base/errors';
import { killTree, resolvePython, resolveRuntimeDir, spawnRuntime, type RuntimeOptions } from './pythonRuntime';

export interface DoctorModule {
  installed: boolean;
  version: string | null;
  install?: string;
}

export interface DoctorReport {
  python: { version: string; executable: string };
  platform: string;
  cpus: number | null;
  torch: DoctorModule & {
    error?: string;
    cuda: {
      available: boolean;
      version: string | null;
      devices: Array<{ index: number; name: string; memoryMB: number; capability: string }>;
      bf16?: boolean | null;
      error?: string;
    };
    mps?: boolean;
    threads?: number;
  };
  transformers: DoctorModule;
  peft: DoctorModule;
  onnx: DoctorModule;
  onnxruntime: DoctorModule;
  safetensors: DoctorModule;
  numpy: DoctorModule;
  canTrain: boolean;
  canTrainOnGpu: boolean;
  hfModels: boolean;
  lora: boolean;
  onnxExport: boolean;
}

/** What the machine has for training (`python -m ssr_runtime.doctor --json`). */
export async function doctor(opts: RuntimeOptions = {}): Promise<DoctorReport & { pythonCommand: string; runtimeDir: string }> {
  const runtimeDir = resolveRuntimeDir(opts.runtimeDir);
  const python = opts.python ?? (await resolvePython({ ...process.env, ...opts.env }));
  const lines: string[] = [];
  const proc = spawnRuntime(python, ['-m', 'ssr_runtime.doctor', '--json'], runtimeDir, opts.env, (l) => lines.push(l));
  const onAbort = () => killTree(proc.child, 'SIGKILL');
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  let exit: { code: number | null; signal: NodeJS.Signals | null };
  try {
    exit = await proc.done;
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
  }
  if (opts.signal?.aborted) throw new CancelledError('doctor cancelled');
  const text = lines.join('\n').trim();
  if (exit.code !== 0 || !text) {
    const last = [...proc.stderrTail].reverse().find((l) => l.trim()) ?? `exit code ${exit.code ?? exit.signal}`;
    throw new EnvironmentError(`${python} -m ssr_runtime.doctor failed: ${last}`);
  }
  try {
    return { ...(JSON.parse(text) as DoctorReport), pythonCommand: python, runtimeDir };
  } catch {
    throw new EnvironmentError(`${python} -m ssr_runtime.doctor printed something that is not JSON: ${text.slice(0, 200)}`);
  }
}
