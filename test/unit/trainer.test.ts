import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  doctor,
  findRuntimeDir,
  resolvePython,
  resolveRuntimeDir,
  train,
  trainArgs,
  TrainerError,
  type TrainEvent,
  type TrainStepEvent,
} from '../../src/core/training/trainer';
import { CancelledError, EnvironmentError } from '../../src/core/base/errors';
import { OnnxPolicy } from '../../src/core/policy/onnx';

const ROOT = path.resolve(__dirname, '..', '..');
const RUNTIME = path.join(ROOT, 'runtime');

describe('trainer driver (runtime/ssr_runtime.train)', function () {
  this.timeout(120_000);

  describe('without Python', () => {
    it('finds the bundled runtime folder from src/core and honours an explicit one', () => {
      assert.equal(resolveRuntimeDir(), RUNTIME);
      assert.equal(resolveRuntimeDir(RUNTIME), RUNTIME);
      assert.throws(() => resolveRuntimeDir(os.tmpdir()), EnvironmentError);
    });

    it('finds runtime/ from a bundled dist/ layout too', () => {
      // A bundled dist/cli.js has __dirname = <root>/dist; the lookup walks up to <root>/runtime.
      const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ssr-layout-'));
      try {
        fs.mkdirSync(path.join(tmp, 'runtime', 'ssr_runtime'), { recursive: true });
        fs.writeFileSync(path.join(tmp, 'runtime', 'ssr_runtime', 'train.py'), '');
        fs.mkdirSync(path.join(tmp, 'dist'));
        assert.equal(findRuntimeDir([path.join(tmp, 'dist')]), path.join(tmp, 'runtime'));
        assert.equal(findRuntimeDir([path.join(ROOT, 'src', 'core')]), RUNTIME);
        assert.equal(findRuntimeDir([path.join(tmp, 'runtime')]), path.join(tmp, 'runtime'));
        fs.rmSync(path.join(tmp, 'runtime'), { recursive: true });
        assert.equal(findRuntimeDir([path.join(tmp, 'dist')]), null);
      } finally {
        fs.rmSync(tmp, { recursive: true, force: true });
      }
    });

    it('builds the command line with absolute paths', () => {
      const args = trainArgs({ run: 'r', model: 'm', out: 'o', device: 'cpu', steps: 3, lr: 1e-4, lora: true, klCoef: 0.05, clip: 0.3, gradAccum: 2, maxLen: 512, checkpointEvery: 5, seed: 7, onnx: 'no' });
      assert.deepEqual(args, [
        '-m', 'ssr_runtime.train', '--run', path.resolve('r'), '--model', path.resolve('m'), '--out', path.resolve('o'),
        '--device', 'cpu', '--steps', '3', '--lr', '0.0001', '--lora', '--kl-coef', '0.05', '--clip', '0.3',
        '--grad-accum', '2', '--max-len', '512', '--checkpoint-every', '5', '--seed', '7', '--onnx', 'no',
      ]);
      assert.throws(() => trainArgs({ run: 'r', model: 'm', out: 'o', lr: NaN }), TypeError);
    });

    it('SSR_PYTHON overrides the interpreter', async () => {
      assert.equal(await resolvePython({ SSR_PYTHON: '/opt/py/bin/python3' }), '/opt/py/bin/python3');
    });

    it('a missing interpreter is a clear EnvironmentError', async () => {
      const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ssr-nopy-'));
      await assert.rejects(
        train({ run: tmp, model: tmp, out: path.join(tmp, 'o'), python: '/nonexistent/python3' }),
        (err: Error) => err instanceof EnvironmentError && /cannot run \/nonexistent\/python3: not found/.test(err.message),
      );
      fs.rmSync(tmp, { recursive: true, force: true });
    });
  });

  describe('with PyTorch', function () {
    let python: string;
    let tmp: string;
    let modelDir: string;
    let runDir: string;

    before(async function () {
      this.timeout(180_000);
      python = await resolvePython();
      const rep = await doctor({ python }).catch(() => null);
      if (!rep?.torch.installed) {
        console.warn(`skipping trainer runs: ${python} has no PyTorch (${rep?.torch.install ?? 'doctor failed'})`);
        this.skip();
      }
      tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ssr-trainer-'));
      modelDir = path.join(tmp, 'model');
      runDir = path.join(tmp, 'run');
      const env = { ...process.env, PYTHONPATH: RUNTIME };
      // A tiny Llama the runtime builds itself (no warm-up: fast) and a synthetic run with known rewards.
      execFileSync(python, ['-m', 'ssr_runtime.tiny_model', 'build', modelDir, '--warmup-steps', '0'], { env, stdio: 'pipe' });
      execFileSync(python, ['-m', 'ssr_runtime.synthetic', '--model', modelDir, '--run', runDir, '--solver-groups', '2', '--injector-groups', '1'], { env, stdio: 'pipe' });
    });

    after(() => {
      if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
    });

    it('doctor() reports python, torch and the optional packages', async () => {
      const rep = await doctor({ python });
      assert.ok(rep.python.version.startsWith('3.'));
      assert.equal(rep.torch.installed, true);
      assert.equal(typeof rep.torch.version, 'string');
      assert.equal(typeof rep.torch.cuda.available, 'boolean');
      assert.ok(Array.isArray(rep.torch.cuda.devices));
      for (const m of [rep.transformers, rep.peft, rep.onnx]) assert.equal(typeof m.installed, 'boolean');
      assert.equal(rep.runtimeDir, RUNTIME);
    });

    it('streams typed events and writes the output folder', async () => {
      const out = path.join(tmp, 'out');
      const events: TrainEvent[] = [];
      const res = await train({
        run: runDir, model: modelDir, out, device: 'cpu', steps: 3, lr: 1e-3, batchSize: 8, gradAccum: 1,
        checkpointEvery: 2, python, onEvent: (e) => events.push(e),
      });
      const types = events.map((e) => e.type);
      assert.equal(types[types.length - 1], 'done');
      const start = events.find((e) => e.type === 'start');
      assert.ok(start && start.type === 'start');
      assert.equal(start.zeroVarianceGroups, 1);
      assert.equal(start.groups, 4);
      const steps = events.filter((e): e is TrainStepEvent => e.type === 'step');
      assert.deepEqual(steps.map((s) => s.step), [1, 2, 3]);
      for (const s of steps) {
        assert.equal(typeof s.loss, 'number');
        assert.ok(s.tokensPerSec > 0);
        assert.ok('solver' in s.reward && 'injector' in s.reward);
        assert.ok(s.clipFrac >= 0 && s.clipFrac <= 1);
        assert.equal(s.memoryMB, null); // CPU
      }
      assert.ok(types.indexOf('checkpoint') > types.indexOf('step'));
      assert.ok(events.some((e) => e.type === 'log' && /no reward variance/.test(e.message)));

      assert.equal(res.outDir, out);
      assert.equal(res.steps, 3);
      assert.deepEqual(res.final, steps[2]);
      assert.equal(res.modelDir, path.join(out, 'model'));
      assert.ok(fs.existsSync(path.join(res.modelDir, 'pytorch_model.bin')));
      assert.ok(fs.existsSync(path.join(res.modelDir, 'config.json')));
      assert.deepEqual(res.checkpoints, [path.join(out, 'checkpoints', 'step-000002')]);
      assert.ok(fs.existsSync(path.join(res.checkpoints[0], 'trainer_state.json')));
      const logged = fs.readFileSync(res.metricsFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as TrainEvent);
      assert.deepEqual(logged.map((e) => e.type), types);
      if (res.onnxDir) {
        assert.equal(res.onnxDir, res.modelDir);
        assert.ok(fs.existsSync(path.join(res.onnxDir, 'onnx', 'model.onnx')));
      }
    });

    it('the exported folder loads in the onnx policy (round trip)', async () => {
      const out = path.join(tmp, 'out-rt');
      const res = await train({ run: runDir, model: modelDir, out, device: 'cpu', steps: 1, lr: 1e-3, batchSize: 8, gradAccum: 1, onnx: 'yes', python });
      assert.ok(res.onnxDir);
      const policy = await OnnxPolicy.create({ model: res.onnxDir, seed: 1, maxTokens: 4 });
      try {
        const r = await policy.complete({ messages: [{ role: 'user', content: 'Fix bug 0. Answer Y or N.' }], maxTokens: 4 });
        assert.ok(r.tokenIds && r.tokenIds.length > 0 && r.tokenIds.length <= 4);
        assert.equal(r.logprobs?.length, r.tokenIds.length);
      } finally {
        await policy.dispose?.();
      }
    });

    it('a corrupt trajectories.jsonl rejects with the runtime message naming the line', async () => {
      const bad = path.join(tmp, 'bad');
      fs.mkdirSync(bad);
      const lines = fs.readFileSync(path.join(runDir, 'trajectories.jsonl'), 'utf8').split('\n');
      lines[1] = '{"id": "x", "role": "solver", "reward": ';
      fs.writeFileSync(path.join(bad, 'trajectories.jsonl'), lines.join('\n'));
      const events: TrainEvent[] = [];
      await assert.rejects(
        train({ run: bad, model: modelDir, out: path.join(tmp, 'out-bad'), device: 'cpu', python, onEvent: (e) => events.push(e) }),
        (err: Error) => {
          assert.ok(err instanceof TrainerError, String(err));
          assert.equal(err.code, 'bad_input');
          assert.equal(err.exitCode, 2);
          assert.match(err.message, /trajectories\.jsonl: line 2: not valid JSON/);
          return true;
        },
      );
      assert.ok(events.some((e) => e.type === 'error' && /line 2/.test(e.message)));
    });

    it('an empty trajectories.jsonl and a bad model folder are clear errors', async () => {
      const empty = path.join(tmp, 'empty');
      fs.mkdirSync(empty);
      fs.writeFileSync(path.join(empty, 'trajectories.jsonl'), '');
      await assert.rejects(train({ run: empty, model: modelDir, out: path.join(tmp, 'o1'), device: 'cpu', python }), /holds no trajectories/);
      await assert.rejects(
        train({ run: runDir, model: empty, out: path.join(tmp, 'o2'), device: 'cpu', python }),
        (err: Error) => err instanceof TrainerError && err.code === 'model_load' && /no config\.json/.test(err.message),
      );
    });

    it('AbortSignal kills the runtime and rejects with CancelledError', async () => {
      const ac = new AbortController();
      const t0 = Date.now();
      let stepsSeen = 0;
      const p = train({
        run: runDir, model: modelDir, out: path.join(tmp, 'out-abort'), device: 'cpu', steps: 100_000, lr: 1e-4,
        batchSize: 8, gradAccum: 1, checkpointEvery: 0, python, signal: ac.signal,
        onEvent: (e) => {
          if (e.type === 'step' && ++stepsSeen === 2) ac.abort();
        },
      });
      await assert.rejects(p, CancelledError);
      assert.ok(stepsSeen >= 2 && stepsSeen < 1000, `steps seen: ${stepsSeen}`);
      assert.ok(Date.now() - t0 < 60_000);
      assert.ok(!fs.existsSync(path.join(tmp, 'out-abort', 'model')), 'a cancelled run must not publish a model');
    });
  });
});
