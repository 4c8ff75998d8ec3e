"""The end of an update: OUT/model (with onnx/model.onnx inside), OUT/adapter, the per-update line, the `done` event.

One folder, OUT/model, serves the `onnx` policy, vLLM and the next update;
OUT/adapter is the LoRA adapter when LoRA ran. The per-update metrics line is
appended to RUN/train/updates.jsonl (or --updates-file).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from typing import Any, Dict, List, Optional

from .deps import RuntimeFailure
from .events import clean
from .saving import export_onnx_into, save_final
from .update_state import UpdateState


def export(st: UpdateState) -> Dict[str, Any]:
    """Writes OUT/model (+ onnx) and OUT/adapter; returns {"paths", "onnxPath", "onnxError"}."""
    a, em, pol = st.a, st.em, st.pol
    pol.model.eval()
    result: Dict[str, Any] = {"onnxPath": None, "onnxError": None}
    do_onnx = a.onnx != "no"
    cfg_type = getattr(getattr(pol.model, "config", None), "model_type", None)
    if a.onnx == "auto" and st.total_params > 600_000_000:
        result["onnxError"] = f"skipped: {st.total_params / 1e9:.1f}B parameters is large for the onnx policy (pass --onnx yes to export anyway)"
        em.log(f"ONNX export {result['onnxError']}")
        do_onnx = False
    elif a.onnx == "auto" and cfg_type not in (None, "llama"):
        result["onnxError"] = f"skipped: export_onnx handles Llama-architecture models, this one is {cfg_type!r}"
        em.log(f"ONNX export {result['onnxError']}")
        do_onnx = False

    def add_onnx(tmp_model: str) -> None:
        if not do_onnx:
            return
        try:
            export_onnx_into(tmp_model)
            result["onnxPath"] = "onnx/model.onnx"
        except Exception as err:  # noqa: BLE001
            result["onnxError"] = f"{type(err).__name__}: {err}"
            if a.onnx == "yes":
                raise RuntimeFailure(f"ONNX export failed: {result['onnxError']}") from None
            em.warn(f"ONNX export failed ({result['onnxError']}); the PyTorch model is still written")

    paths = save_final(pol, a.out, em.warn, before_publish=add_onnx)
    if paths.get("adapter"):
        em.emit({"type": "export", "kind": "adapter", "path": paths["adapter"]})
    em.emit({"type": "export", "kind": "model", "path": paths["model"]})
    if result["onnxPath"]:
        result["onnxPath"] = os.path.join(paths["model"], result["onnxPath"])
        em.emit({"type": "export", "kind": "onnx", "path": paths["model"], "file": result["onnxPath"]})
    result["paths"] = paths
    return result


def finish(st: UpdateState, exported: Dict[str, Any]) -> None:
    """The per-update metrics line (updates.jsonl) and the `done` event (the summary `ssr train --json` prints)."""
    a, roles, records, seqs, used = st.a, st.roles, st.records, st.seqs, st.used_records
    for role in ("solver", "injector"):
        roles[role]["used"] = sum(1 for i in used if records[i].role == role)
    retokenised = sum(1 for s in seqs if s.retokenised and s.record in used)
    retok_records = len({s.record for s in seqs if s.retokenised and s.record in used})
    update = _update_line(st, retok_records)
    updates_path = _updates_path(a)
    if updates_path:
        os.makedirs(os.path.dirname(updates_path), exist_ok=True)
        with open(updates_path, "a", encoding="utf-8") as f:
            f.write(json.dumps(clean(update), separators=(",", ":")) + "\n")
    paths, onnx_path, totals = exported["paths"], exported["onnxPath"], st.totals
    st.em.emit({
        "type": "done", "outDir": os.path.abspath(a.out), "out": os.path.abspath(a.out), "steps": st.steps, "final": st.last,
        "roles": {r: {"trajectories": roles[r]["trajectories"], "used": roles[r]["used"], "zeroVarianceGroups": roles[r]["zeroVarianceGroups"],
                      "baselineGroups": roles[r]["baselineGroups"], "offPolicy": roles[r]["offPolicy"], "meanReward": roles[r]["meanReward"]}
                  for r in roles},
        "retokenised": retok_records, "retokenisedSequences": retokenised,
        "ppoRatio": {"tokens": totals["ratioTokens"], "used": totals["ratioTokens"] > 0},
        "update": update, "updatesFile": updates_path, "resumedFrom": st.resume["step"] if st.resume else None,
        "model": paths.get("model"), "adapter": paths.get("adapter"), "onnx": paths["model"] if onnx_path else None,
        "onnxFile": onnx_path, "onnxError": exported["onnxError"],
        "checkpoints": st.checkpoints, "metrics": os.path.join(a.out, "metrics.jsonl"),
        "zeroVarianceGroups": st.zero_var, "groups": st.adv.n_groups, "sequences": len(seqs),
        "elapsedSec": time.time() - st.t_start,
    })


def _update_line(st: UpdateState, retok_records: int) -> Dict[str, Any]:
    """One line of RUN/train/updates.jsonl: the learning curve, one point per update."""
    a, roles, totals, steps, first_step = st.a, st.roles, st.totals, st.steps, st.first_step
    window = list(zip(st.records, st.window))
    return {
        "time": round(time.time(), 3), "out": os.path.abspath(a.out), "model": os.path.abspath(a.model), "policyStep": a.policy_step,
        "fromLine": a.from_line, "cursor": st.cursor, "steps": steps, "resumedFrom": st.resume["step"] if st.resume else None,
        "roles": {r: {k: roles[r][k] for k in ("trajectories", "used", "meanReward", "zeroVarianceGroups", "baselineGroups", "offPolicy")} for r in roles},
        "solveRate": _share([r.reward > 0 for r, w in window if w and r.role == "solver"]),
        "validShare": _share([r.reward > -1.0 + 1e-9 for r, w in window if w and r.role == "injector"]),
        "loss": (totals["loss"] / max(1, steps - first_step + 1)) if steps >= first_step else None,
        "kl": _mean(totals["kl"]), "klRollout": _mean(totals["klRollout"]), "clipFrac": _mean(totals["clipFrac"]),
        "tokensPerSec": (totals["tokens"] / totals["sec"]) if totals["sec"] > 0 else None,
        "ratioTokens": totals["ratioTokens"], "lossTokens": totals["lossTokens"], "retokenised": retok_records,
    }


def _share(xs: List[bool]) -> Optional[float]:
    return (sum(1 for x in xs if x) / len(xs)) if xs else None


def _mean(xs: List[float]) -> Optional[float]:
    return (sum(xs) / len(xs)) if xs else None


def _updates_path(a: argparse.Namespace) -> Optional[str]:
    if a.updates_file == "none":
        return None
    if a.updates_file:
        return os.path.abspath(a.updates_file)
    run_dir = a.run if os.path.isdir(a.run) else os.path.dirname(os.path.abspath(a.run))
    return os.path.join(os.path.abspath(run_dir), "train", "updates.jsonl")
