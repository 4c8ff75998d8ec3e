"""Resuming a killed update: what a checkpoint holds beyond the model, and finding and restoring it.

A checkpoint folder (OUT/checkpoints/step-NNNNNN) holds trainer_state.json
(step, steps, data cursor, sampler state, records used) and resume.pt (the
trainable weights, the AdamW state and the torch RNG state);
OUT/checkpoints/latest.json points at the newest complete one.
"""

from __future__ import annotations

import argparse
import json
import os
from typing import Any, Callable, Dict, Optional

from .deps import RuntimeFailure
from .events import Emitter
from .sampler import Sampler


RESUME_FILE = "resume.pt"


def resume_blob(pol: Any, opt: Any, torch: Any) -> Callable[[str], None]:
    """Writes what a resumed update needs beyond trainer_state.json: the trainable parameters (the full
    weights, or the LoRA weights), the optimizer state and the torch RNG state."""

    def write(folder: str) -> None:
        trainable = {n: p.detach().cpu() for n, p in pol.model.named_parameters() if p.requires_grad}
        torch.save({"trainable": trainable, "optimizer": opt.state_dict() if opt else None,
                    "torch_rng": torch.get_rng_state()}, os.path.join(folder, RESUME_FILE))

    return write


def find_resume(a: argparse.Namespace, em: Emitter) -> Optional[Dict[str, Any]]:
    latest = os.path.join(a.out, "checkpoints", "latest.json")
    if not os.path.exists(latest):
        return None
    try:
        with open(latest, encoding="utf-8") as f:
            ptr = json.load(f)
        path = ptr["path"]
        with open(os.path.join(path, "trainer_state.json"), encoding="utf-8") as f:
            state = json.load(f)
    except Exception as err:  # noqa: BLE001
        em.warn(f"cannot resume from {latest} ({type(err).__name__}: {err}); starting over")
        return None
    if not os.path.exists(os.path.join(path, RESUME_FILE)) or "cursor" not in state:
        em.warn(f"{path} has no optimizer state (written by an older version); starting over")
        return None
    if state.get("run") != os.path.abspath(a.run) or state.get("model") != os.path.abspath(a.model):
        em.warn(f"{path} belongs to another run or model ({state.get('run')}, {state.get('model')}); starting over")
        return None
    state["path"] = path
    return state


def restore(resume: Dict[str, Any], pol: Any, opt: Any, sampler: "Sampler", em: Emitter, torch: Any) -> int:
    blob = torch.load(os.path.join(resume["path"], RESUME_FILE), map_location="cpu")
    named = dict(pol.model.named_parameters())
    missing = [n for n in blob["trainable"] if n not in named]
    if missing:
        raise RuntimeFailure(f"cannot resume from {resume['path']}: the checkpoint holds parameters the model lacks ({missing[:3]}); "
                             "remove OUT/checkpoints or pass --resume no")
    with torch.no_grad():
        for n, t in blob["trainable"].items():
            named[n].copy_(t.to(named[n].device, dtype=named[n].dtype))
    if opt is not None and blob.get("optimizer") is not None:
        opt.load_state_dict(blob["optimizer"])
    if blob.get("torch_rng") is not None:
        torch.set_rng_state(blob["torch_rng"])
    sampler.restore(resume["sampler"])
    em.log(f"resuming from {resume['path']}: step {resume['step']} of {resume['steps']} (weights, optimizer state, sampler, "
           f"data cursor {resume['cursor']} lines)")
    return int(resume["step"]) + 1


def write_json_atomic(path: str, data: Any) -> None:
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
