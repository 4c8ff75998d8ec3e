"""The update loop as a self-play session drives it: resume after kill -9, the data cursor and policy
versions, log-probs without token ids, temperature-aware ratios, the per-update metrics file."""

import json
import os
import signal
import subprocess
import sys

import torch

from ssr_runtime import synthetic
from ssr_runtime.tiny_model import load_model

from conftest import RUNTIME

BASE = ["--device", "cpu", "--batch-size", "4", "--grad-accum", "1", "--lr", "1e-3", "--onnx", "no"]


def _records(tiny, **kw):
    model, tok = tiny
    return synthetic.make_records(tok, model, **kw)


def _weights(folder):
    model, _ = load_model(folder)
    return {k: v.clone() for k, v in model.state_dict().items()}


def test_kill_9_then_rerun_resumes_and_ends_at_the_same_step_with_the_same_weights(tmp_path, tiny, tiny_dir, run_cli):
    run = str(tmp_path / "run")
    synthetic.write_run(run, _records(tiny, solver_groups=2, attempts=4, injector_groups=1, zero_variance_groups=0))
    args = ["--run", run, "--model", tiny_dir, "--steps", "8", "--checkpoint-every", "1", "--keep-checkpoints", "2", *BASE]
    ref_out = str(tmp_path / "uninterrupted")
    rc, ev, _, err = run_cli("ssr_runtime.train", args + ["--out", ref_out])
    assert rc == 0, err
    assert ev[-1]["steps"] == 8

    out = str(tmp_path / "killed")
    env = dict(os.environ, PYTHONPATH=RUNTIME)
    p = subprocess.Popen([sys.executable, "-m", "ssr_runtime.train"] + args + ["--out", out], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, text=True)
    # Kill -9 as soon as a checkpoint past step 2 is published (read from the event stream, no timing).
    for line in p.stdout:
        e = json.loads(line)
        if e["type"] == "checkpoint" and e["step"] >= 3:
            os.kill(p.pid, signal.SIGKILL)
            break
    p.wait()
    assert p.returncode == -signal.SIGKILL
    assert not os.path.exists(os.path.join(out, "model"))
    killed_at = json.load(open(os.path.join(out, "checkpoints", "latest.json")))["step"]
    assert 3 <= killed_at < 8

    # More records appended after the kill must not change what the resumed update reads (data cursor).
    with open(os.path.join(run, "trajectories.jsonl"), "a") as f:
        for r in _records(tiny, solver_groups=1, attempts=2, injector_groups=0, zero_variance_groups=0, seed=7):
            r["id"] += "-late"
            f.write(json.dumps(r) + "\n")
    rc, ev, _, err = run_cli("ssr_runtime.train", args + ["--out", out])
    assert rc == 0, err
    start = next(e for e in ev if e["type"] == "start")
    assert start["resumedFrom"] == killed_at
    steps = [e["step"] for e in ev if e["type"] == "step"]
    assert steps == list(range(killed_at + 1, 9))
    done = ev[-1]
    assert done["steps"] == 8 and done["resumedFrom"] == killed_at
    assert any("resuming from" in e.get("message", "") for e in ev if e["type"] == "log")
    a, b = _weights(os.path.join(ref_out, "model")), _weights(os.path.join(out, "model"))
    assert a.keys() == b.keys()
    for k in a:
        assert torch.allclose(a[k], b[k], atol=1e-6), k


def test_log_probs_without_token_ids_are_retokenised_on_policy_and_counted(tmp_path, tiny, tiny_dir, run_cli):
    recs = _records(tiny, solver_groups=1, attempts=4, injector_groups=1, zero_variance_groups=0)
    for r in recs:
        for t in r["tokens"]:  # what a vLLM-shaped server gives when ids were not asked for
            t.pop("tokenIds")
            t.pop("promptTokenIds")
    run = str(tmp_path / "run")
    synthetic.write_run(run, recs)
    rc, ev, _, err = run_cli("ssr_runtime.train", ["--run", run, "--model", tiny_dir, "--out", str(tmp_path / "o"), "--steps", "2", *BASE])
    assert rc == 0, err
    done = ev[-1]
    assert done["retokenised"] == len(recs)
    assert done["ppoRatio"]["used"] is False
    assert done["roles"]["solver"]["used"] > 0 and done["roles"]["injector"]["used"] > 0
    warns = [e["message"] for e in ev if e["type"] == "log" and e["level"] == "warn"]
    assert any("log-probs without token ids" in m for m in warns), warns


def test_summary_roles_and_ppo_ratio_with_token_ids(tmp_path, tiny, tiny_dir, run_cli):
    run = str(tmp_path / "run")
    synthetic.write_run(run, _records(tiny, solver_groups=2, attempts=4, injector_groups=1, zero_variance_groups=1))
    rc, ev, _, err = run_cli("ssr_runtime.train", ["--run", run, "--model", tiny_dir, "--out", str(tmp_path / "o"), *BASE])
    assert rc == 0, err
    done = ev[-1]
    assert done["retokenised"] == 0 and done["ppoRatio"]["used"] is True and done["ppoRatio"]["tokens"] > 0
    s, i = done["roles"]["solver"], done["roles"]["injector"]
    assert (s["trajectories"], s["zeroVarianceGroups"]) == (12, 1) and s["used"] == 8
    assert (i["trajectories"], i["used"], i["zeroVarianceGroups"]) == (4, 4, 0)
    # One line per update in RUN/train/updates.jsonl, for learning curves.
    lines = [json.loads(l) for l in open(os.path.join(run, "train", "updates.jsonl"))]
    assert len(lines) == 1
    u = lines[0]
    for key in ("roles", "solveRate", "validShare", "loss", "kl", "clipFrac", "tokensPerSec", "steps", "out"):
        assert key in u
    assert u["roles"]["solver"]["meanReward"] is not None and 0 < u["solveRate"] < 1 and u["validShare"] == 1.0


def test_only_the_current_policy_version_after_the_cursor_trains(tmp_path, tiny, tiny_dir, run_cli):
    old = _records(tiny, solver_groups=1, attempts=4, injector_groups=0, zero_variance_groups=0, seed=1)
    new = _records(tiny, solver_groups=1, attempts=4, injector_groups=0, zero_variance_groups=0, seed=2)
    for r in old:
        r["policyVersion"] = {"model": "tiny", "step": 0}
    for r in new:
        r["id"] += "-v1"
        r["group"] += "-v1"
        r["policyVersion"] = {"model": "tiny", "step": 1}
    stale = json.loads(json.dumps(new[:2]))  # a stale record after the cursor, sampled by version 0
    for r in stale:
        r["id"] += "-stale"
        r["group"] = "solve:stale"
        r["reward"] = -r["reward"]
        r["policyVersion"] = {"model": "tiny", "step": 0}
    run = str(tmp_path / "run")
    synthetic.write_run(run, old + new + stale)
    rc, ev, _, err = run_cli("ssr_runtime.train", ["--run", run, "--model", tiny_dir, "--out", str(tmp_path / "o"), "--steps", "3",
                                                   "--from-line", str(len(old)), "--policy-step", "1", *BASE])
    assert rc == 0, err
    done = ev[-1]
    assert done["roles"]["solver"]["trajectories"] == len(new) + len(stale)
    assert done["roles"]["solver"]["offPolicy"] == 2
    assert done["roles"]["solver"]["used"] == len(new)
    warns = [e["message"] for e in ev if e["type"] == "log" and e["level"] == "warn"]
    assert any("another policy version" in m and "refused" in m for m in warns), warns


def test_rollout_log_probs_at_the_sampling_temperature_give_ratio_one(tmp_path, tiny, tiny_dir, run_cli):
    model, tok = tiny
    recs = synthetic.make_records(tok, model, solver_groups=1, attempts=4, injector_groups=0, zero_variance_groups=0)
    T = 0.5
    for r in recs:
        for t in r["tokens"]:
            ids = torch.tensor([t["promptTokenIds"] + t["tokenIds"]])
            with torch.no_grad():
                lp = torch.log_softmax(model(ids).logits[0].float() / T, dim=-1)
            n = len(t["promptTokenIds"])
            t["logprobs"] = [float(lp[n + j - 1, x]) for j, x in enumerate(t["tokenIds"])]
            t["temperature"] = T
    run = str(tmp_path / "run")
    synthetic.write_run(run, recs)
    rc, ev, _, err = run_cli("ssr_runtime.train", ["--run", run, "--model", tiny_dir, "--out", str(tmp_path / "o"), "--steps", "1", "--lr", "0", *BASE[:-4], "--onnx", "no"])
    assert rc == 0, err
    step = next(e for e in ev if e["type"] == "step")
    assert step["klRollout"] < 1e-6 and abs(step["ratioMean"] - 1) < 1e-4 and step["clipFrac"] == 0
    # The same log-probs scored at T = 1 (the old behaviour) would be far off.
    for r in recs:
        for t in r["tokens"]:
            t.pop("temperature")
    run2 = str(tmp_path / "run2")
    synthetic.write_run(run2, recs)
    rc, ev, _, err = run_cli("ssr_runtime.train", ["--run", run2, "--model", tiny_dir, "--out", str(tmp_path / "o2"), "--steps", "1", "--lr", "0", *BASE[:-4], "--onnx", "no"])
    assert rc == 0, err
    step = next(e for e in ev if e["type"] == "step")
    assert step["klRollout"] > 1e-3


def test_builtin_lora_adapter_merges_to_what_it_trained_and_lr_follows_the_fallback(tmp_path, tiny, tiny_dir, run_cli):
    run = str(tmp_path / "run")
    synthetic.write_run(run, _records(tiny, solver_groups=1, attempts=4, injector_groups=1, zero_variance_groups=0))
    out = str(tmp_path / "lora")
    rc, ev, _, err = run_cli("ssr_runtime.train", ["--run", run, "--model", tiny_dir, "--out", out, "--steps", "3", "--lora",
                                                   "--lora-r", "4", "--lr", "1e-2", *BASE[:-4], "--onnx", "no"])
    assert rc == 0, err
    start = next(e for e in ev if e["type"] == "start")
    assert start["lora"] is True and start["trainableParams"] < start["params"] / 4
    cfg = json.load(open(os.path.join(out, "adapter", "adapter_config.json")))
    assert cfg["peft_type"] == "LORA" and cfg["r"] == 4 and "q_proj" in cfg["target_modules"]
    state = torch.load(os.path.join(out, "adapter", "adapter_model.bin"))
    assert any(k.startswith("base_model.model.") and k.endswith("lora_A.weight") for k in state)
    # merged = base + (alpha / r) * B @ A, layer by layer
    base, merged = _weights(tiny_dir), _weights(os.path.join(out, "model"))
    changed = [k for k in base if not torch.equal(base[k], merged[k])]
    assert changed and all("proj" in k for k in changed)
    key = next(k for k in state if k.endswith("q_proj.lora_A.weight"))
    mod = key[len("base_model.model."):-len(".lora_A.weight")]
    delta = (cfg["lora_alpha"] / cfg["r"]) * state[key.replace("lora_A", "lora_B")] @ state[key]
    assert torch.allclose(merged[mod + ".weight"], base[mod + ".weight"] + delta, atol=1e-5)
    # LoRA that cannot be applied falls back to full fine-tuning with full fine-tuning's learning rate.
    rc, ev, _, err = run_cli("ssr_runtime.train", ["--run", run, "--model", tiny_dir, "--out", str(tmp_path / "fb"), "--steps", "1",
                                                   "--lora", "--lora-targets", "no_such_layer", *BASE[:-4], "--onnx", "no"])
    assert rc == 0, err
    start = next(e for e in ev if e["type"] == "start")
    assert start["lora"] is False and start["lr"] == 1e-6
    assert any("fell back to full fine-tuning" in e.get("message", "") for e in ev)


def test_a_prompt_longer_than_max_len_is_cut_on_the_left_and_still_trains(tmp_path, tiny, tiny_dir, run_cli):
    recs = _records(tiny, solver_groups=1, attempts=4, injector_groups=0, zero_variance_groups=0, token_ids=False)
    for r in recs:  # a long agent prompt: longer than --max-len on its own
        r["messages"][0]["content"] = "context line\n" * 200 + r["messages"][0]["content"]
    run = str(tmp_path / "run")
    synthetic.write_run(run, recs)
    rc, ev, _, err = run_cli("ssr_runtime.train", ["--run", run, "--model", tiny_dir, "--out", str(tmp_path / "o"), "--steps", "1",
                                                   "--max-len", "256", *BASE])
    assert rc == 0, err
    assert ev[-1]["roles"]["solver"]["used"] == 4
    warns = [e["message"] for e in ev if e["type"] == "log" and e["level"] == "warn"]
    assert any("cut on the left" in m for m in warns), warns
