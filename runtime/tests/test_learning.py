"""The update learns: on a synthetic task with known rewards, K steps raise the probability of the
rewarded first token and lower the penalised one, for both roles at once (one set of parameters).
An inert update (lr = 0) through the very same pipeline must fail the same criterion.

Task (ssr_runtime.synthetic): solver completions starting with 'Y' are solved (+1), with 'N' not
(-1); injector proposals starting with 'C' get 1 - 1.8 * 0.25 = 0.55, with 'D' -0.8 (nobody solves
the bug). One extra solver group where every attempt succeeds has no variance and must be skipped.
"""

import math
import os

from ssr_runtime import synthetic, train
from ssr_runtime.tiny_model import load_model

STEPS = 10
LR = 3e-3
PRINT = []


def _train(tmp_path, tiny_dir, records, lr, name, extra=()):
    run = str(tmp_path / f"run-{name}")
    out = str(tmp_path / f"out-{name}")
    synthetic.write_run(run, records)
    events = []
    with open(os.devnull, "w") as devnull:
        rc = train.main(["--run", run, "--model", tiny_dir, "--out", out, "--device", "cpu", "--steps", str(STEPS),
                         "--lr", str(lr), "--batch-size", "10", "--grad-accum", "2", "--checkpoint-every", "0",
                         "--onnx", "no", "--seed", "0", *extra], on_event=events.append, stdout=devnull)
    assert rc == 0, [e for e in events if e["type"] == "error"]
    model, _ = load_model(os.path.join(out, "model"))
    return model, events


def _measure(model, tok):
    s = synthetic.first_token_probs(model, tok, [synthetic.solver_prompt(k) for k in range(3)], ["Y", "N"])
    i = synthetic.first_token_probs(model, tok, [synthetic.injector_prompt(r) for r in range(2)], ["C", "D"])
    return {"Y": s["Y"], "N": s["N"], "C": i["C"], "D": i["D"]}


def _learned(before, after):
    """The criterion: rewarded first token at least 3x likelier, penalised one less likely, and the
    log-odds (rewarded vs penalised) up by at least 1.5 nats, for the solver and the injector."""
    ok = True
    for good, bad in (("Y", "N"), ("C", "D")):
        ok &= after[good] >= 3.0 * before[good]
        ok &= after[bad] < before[bad]
        gain = math.log(after[good] / after[bad]) - math.log(before[good] / before[bad])
        ok &= gain >= 1.5
    return bool(ok)


def _report(label, before, after):
    parts = []
    for good, bad in (("Y", "N"), ("C", "D")):
        gain = math.log(after[good] / after[bad]) - math.log(before[good] / before[bad])
        parts.append(f"P({good}) {before[good]:.3g}->{after[good]:.3g} (x{after[good] / before[good]:.1f}), "
                     f"P({bad}) {before[bad]:.3g}->{after[bad]:.3g} (x{after[bad] / before[bad]:.2f}), log-odds +{gain:.2f}")
    print(f"[learning] {label}: " + "; ".join(parts))


def test_update_raises_rewarded_behaviour_and_inert_update_does_not(tmp_path, tiny_dir, tiny):
    base, tok = tiny
    # On-policy trajectories: token ids but no rollout log-probs (no ratio).
    records = synthetic.make_records(tok, base, solver_groups=3, attempts=4, injector_groups=2, zero_variance_groups=1, logprobs=False)
    before = _measure(base, tok)

    trained, events = _train(tmp_path, tiny_dir, records, LR, "learn")
    after = _measure(trained, tok)
    _report(f"lr={LR}, {STEPS} steps", before, after)
    assert _learned(before, after), (before, after)

    start = next(e for e in events if e["type"] == "start")
    assert start["groups"] == 6 and start["zeroVarianceGroups"] == 1
    assert start["sequences"] == 20  # 24 trajectories, 4 of them in the zero-variance group
    steps = [e for e in events if e["type"] == "step"]
    assert len(steps) == STEPS and all(s["reward"]["solver"] is not None and s["reward"]["injector"] is not None for s in steps)

    inert, _ = _train(tmp_path, tiny_dir, records, 0.0, "inert")
    after0 = _measure(inert, tok)
    _report("lr=0 (inert control)", before, after0)
    assert not _learned(before, after0), "an inert update must not pass the learning criterion"
    for k in before:
        assert math.isclose(after0[k], before[k], rel_tol=1e-6)


def test_ppo_update_with_rollout_logprobs_learns_and_clips(tmp_path, tiny_dir, tiny):
    base, tok = tiny
    # Rollout log-probs from the sampling model itself: the ratio starts at 1 and clipping engages.
    records = synthetic.make_records(tok, base, solver_groups=3, attempts=4, injector_groups=2, zero_variance_groups=1, logprobs=True)
    before = _measure(base, tok)
    trained, events = _train(tmp_path, tiny_dir, records, LR, "ppo")
    after = _measure(trained, tok)
    _report(f"PPO lr={LR}, {STEPS} steps", before, after)
    steps = [e for e in events if e["type"] == "step"]
    assert steps[0]["ratioMean"] == __import__("pytest").approx(1.0, abs=1e-4) and steps[0]["clipFrac"] == 0.0
    assert max(s["clipFrac"] for s in steps) > 0.05
    for good, bad in (("Y", "N"), ("C", "D")):
        assert after[good] > 2.0 * before[good] and after[bad] < before[bad]
