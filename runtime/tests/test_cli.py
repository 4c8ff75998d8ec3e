"""The CLIs as the TypeScript driver runs them: exit codes, stdout JSON lines, clear messages."""

import json
import os

import pytest
import torch

from ssr_runtime import synthetic

BASE = ["--device", "cpu", "--batch-size", "8", "--grad-accum", "1", "--lr", "1e-3", "--onnx", "no"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, tiny):
    model, tok = tiny
    d = str(tmp_path_factory.mktemp("run"))
    synthetic.write_run(d, synthetic.make_records(tok, model, solver_groups=2, attempts=4, injector_groups=1, zero_variance_groups=1))
    return d


def test_train_writes_events_metrics_checkpoints_and_model(tmp_path, tiny_dir, run_dir, run_cli):
    out = str(tmp_path / "out")
    rc, events, stdout, stderr = run_cli("ssr_runtime.train", ["--run", run_dir, "--model", tiny_dir, "--out", out, "--steps", "4",
                                                               "--checkpoint-every", "1", "--keep-checkpoints", "2", *BASE])
    assert rc == 0, stderr
    types = [e["type"] for e in events]
    assert types[-1] == "done" and types.count("step") == 4 and "start" in types
    start = next(e for e in events if e["type"] == "start")
    assert start["zeroVarianceGroups"] == 1 and start["groups"] == 4 and start["backend"] == "tiny"
    step = next(e for e in events if e["type"] == "step")
    for key in ("loss", "reward", "kl", "clipFrac", "tokensPerSec", "memoryMB", "lr", "gradNorm"):
        assert key in step
    assert set(step["reward"]) == {"solver", "injector"} and step["tokensPerSec"] > 0
    # metrics.jsonl holds the same events
    with open(os.path.join(out, "metrics.jsonl")) as f:
        logged = [json.loads(l) for l in f]
    assert [e["type"] for e in logged] == types
    # checkpoints: every step but the last (the final model is written anyway), newest 2 kept, no temp folders
    ck = os.path.join(out, "checkpoints")
    assert sorted(os.listdir(ck)) == ["latest.json", "step-000002", "step-000003"]
    assert json.load(open(os.path.join(ck, "latest.json")))["step"] == 3
    assert json.load(open(os.path.join(ck, "step-000003", "trainer_state.json")))["step"] == 3
    assert sorted(os.listdir(out)) == ["checkpoints", "metrics.jsonl", "model"]
    assert {"config.json", "pytorch_model.bin", "tokenizer.json"} <= set(os.listdir(os.path.join(out, "model")))
    done = events[-1]
    assert done["model"] == os.path.join(out, "model") and done["steps"] == 4 and done["final"]["step"] == 4


def test_trajectories_without_token_ids_are_retokenised_and_logged(tmp_path, tiny, tiny_dir, run_cli):
    model, tok = tiny
    run = str(tmp_path / "run")
    synthetic.write_run(run, synthetic.make_records(tok, model, solver_groups=1, attempts=2, injector_groups=1, zero_variance_groups=0, token_ids=False))
    rc, events, _, stderr = run_cli("ssr_runtime.train", ["--run", run, "--model", tiny_dir, "--out", str(tmp_path / "o"), "--steps", "1", *BASE])
    assert rc == 0, stderr
    logs = [e["message"] for e in events if e["type"] == "log"]
    assert any("re-tokenised from the messages" in m and "on-policy" in m for m in logs), logs
    step = next(e for e in events if e["type"] == "step")
    assert step["clipFrac"] == 0 and step["klRollout"] is None  # no ratio


def test_corrupt_jsonl_names_the_line(tmp_path, tiny_dir, run_dir, run_cli):
    lines = open(os.path.join(run_dir, "trajectories.jsonl")).read().splitlines()
    lines[2] = lines[2][: len(lines[2]) // 2]  # a half-written line
    run = tmp_path / "bad"
    run.mkdir()
    (run / "trajectories.jsonl").write_text("\n".join(lines) + "\n")
    rc, events, _, stderr = run_cli("ssr_runtime.train", ["--run", str(run), "--model", tiny_dir, "--out", str(tmp_path / "o"), *BASE])
    assert rc == 2
    err = events[-1]
    assert err["type"] == "error" and err["code"] == "bad_input"
    assert "line 3: not valid JSON" in err["message"] and "trajectories.jsonl" in err["message"]
    assert "line 3" in stderr
    # ... and --skip-bad-lines trains on the rest
    rc, events, _, _ = run_cli("ssr_runtime.train", ["--run", str(run), "--model", tiny_dir, "--out", str(tmp_path / "o2"), "--steps", "1", "--skip-bad-lines", *BASE])
    assert rc == 0 and any(e["type"] == "log" and e["level"] == "warn" and "line 3" in e["message"] for e in events)


def test_empty_jsonl_is_a_clear_error(tmp_path, tiny_dir, run_cli):
    (tmp_path / "trajectories.jsonl").write_text("")
    rc, events, _, _ = run_cli("ssr_runtime.train", ["--run", str(tmp_path), "--model", tiny_dir, "--out", str(tmp_path / "o"), *BASE])
    assert rc == 2 and events[-1]["type"] == "error" and "holds no trajectories" in events[-1]["message"]


def test_model_folder_that_does_not_load(tmp_path, run_dir, run_cli):
    bad = tmp_path / "model"
    bad.mkdir()
    rc, events, _, _ = run_cli("ssr_runtime.train", ["--run", run_dir, "--model", str(bad), "--out", str(tmp_path / "o"), *BASE])
    assert rc == 5 and events[-1]["code"] == "model_load" and "no config.json" in events[-1]["message"]
    (bad / "config.json").write_text(json.dumps({"model_type": "llama", "vocab_size": 10, "hidden_size": 8, "num_attention_heads": 2, "num_hidden_layers": 1, "intermediate_size": 8}))
    rc, events, _, _ = run_cli("ssr_runtime.train", ["--run", run_dir, "--model", str(bad), "--out", str(tmp_path / "o"), *BASE])
    assert rc == 5 and "does not load" in events[-1]["message"] and "pytorch_model.bin" in events[-1]["message"]


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_asked_for_without_cuda(tmp_path, tiny_dir, run_dir, run_cli):
    rc, events, _, _ = run_cli("ssr_runtime.train", ["--run", run_dir, "--model", tiny_dir, "--out", str(tmp_path / "o"), "--device", "cuda"])
    assert rc == 6 and events[-1]["code"] == "device"
    assert "CUDA is not available" in events[-1]["message"] and "--device cpu" in events[-1]["message"]


def test_no_torch_says_what_to_install(tmp_path, run_cli):
    # A fake `torch` package that fails to import, first on the path.
    fake = tmp_path / "fake" / "torch"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('No module named torch')\n")
    from conftest import RUNTIME

    pp = str(tmp_path / "fake") + os.pathsep + RUNTIME
    rc, events, _, stderr = run_cli("ssr_runtime.train", ["--run", str(tmp_path), "--model", str(tmp_path), "--out", str(tmp_path / "o")], pythonpath=pp)
    assert rc == 3 and events[-1]["code"] == "missing_dependency"
    assert "apt-get install python3-torch" in events[-1]["message"] and "pip install torch" in events[-1]["message"]
    rc, events, stdout, _ = run_cli("ssr_runtime.doctor", ["--json"], pythonpath=pp)
    assert rc == 0 and events[0]["torch"]["installed"] is False and "python3-torch" in events[0]["torch"]["install"]


def test_nothing_to_learn_still_writes_the_model(tmp_path, tiny, tiny_dir, run_cli):
    model, tok = tiny
    run = str(tmp_path / "run")
    synthetic.write_run(run, synthetic.make_records(tok, model, solver_groups=0, injector_groups=0, zero_variance_groups=2))
    rc, events, _, _ = run_cli("ssr_runtime.train", ["--run", run, "--model", tiny_dir, "--out", str(tmp_path / "o"), *BASE])
    assert rc == 0
    assert events[-1]["type"] == "done" and events[-1]["steps"] == 0 and events[-1]["zeroVarianceGroups"] == 2
    assert any("nothing to learn" in e.get("message", "") for e in events)
    assert os.path.exists(os.path.join(str(tmp_path / "o"), "model", "pytorch_model.bin"))


def test_kl_penalty_runs_and_reports_kl(tmp_path, tiny_dir, run_dir, run_cli):
    rc, events, _, stderr = run_cli("ssr_runtime.train", ["--run", run_dir, "--model", tiny_dir, "--out", str(tmp_path / "o"), "--steps", "3", "--kl-coef", "0.1", *BASE])
    assert rc == 0, stderr
    kls = [e["kl"] for e in events if e["type"] == "step"]
    assert kls[0] == pytest.approx(0.0, abs=1e-6) and kls[-1] > 0


def test_bad_arguments(tmp_path, run_cli):
    rc, events, _, _ = run_cli("ssr_runtime.train", ["--run", "x", "--model", "y", "--out", str(tmp_path), "--max-len", "1"])
    assert rc == 2 and "--max-len" in events[-1]["message"]
    rc, _, _, stderr = run_cli("ssr_runtime.train", ["--run", "x"])  # argparse: missing options
    assert rc == 2 and "--model" in stderr


def test_doctor_json(run_cli):
    rc, events, _, _ = run_cli("ssr_runtime.doctor", ["--json"])
    assert rc == 0 and len(events) == 1
    rep = events[0]
    assert rep["python"]["version"] and rep["torch"]["installed"] is True and rep["torch"]["version"] == torch.__version__
    assert isinstance(rep["torch"]["cuda"]["available"], bool) and isinstance(rep["torch"]["cuda"]["devices"], list)
    for name in ("transformers", "peft", "onnx"):
        assert isinstance(rep[name]["installed"], bool)
    import subprocess
    import sys

    from conftest import RUNTIME

    p = subprocess.run([sys.executable, "-m", "ssr_runtime.doctor"], capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=RUNTIME))
    assert p.returncode == 0 and "torch" in p.stdout and torch.__version__ in p.stdout
