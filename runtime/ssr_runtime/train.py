"""The SSR policy update: `python3 -m ssr_runtime.train --run RUN_DIR --model MODEL_DIR --out OUT_DIR`.

Reads RUN_DIR/trajectories.jsonl (injector and solver episodes), computes
group-relative advantages, and runs K optimizer steps of the clipped
policy-gradient objective (objective.py) on one set of parameters for both
roles. Writes:

    OUT/metrics.jsonl                 every event below, one JSON object per line
    OUT/checkpoints/step-000050/      every --checkpoint-every steps (atomic: temp folder + rename)
    OUT/checkpoints/latest.json       {"step", "path"} of the newest complete checkpoint
    OUT/model/                        the updated policy, full (merged) weights in the Hugging Face layout:
                                      vLLM, the next update (--model), and, with onnx/model.onnx inside
                                      (Llama models; see --onnx), the folder the TypeScript `onnx` policy loads
    OUT/adapter/                      the LoRA adapter (peft format) when --lora was used with peft

stdout carries only JSON lines (one event each) for the TypeScript driver:
    {"type":"start", ...}  {"type":"log","level":"info|warn","message":...}
    {"type":"step","step":1,"loss":...,"reward":{"solver":..,"injector":..},"kl":..,"clipFrac":..,
     "tokensPerSec":..,"memoryMB":..}
    {"type":"checkpoint","step":..,"path":..}  {"type":"export","kind":"model|adapter|onnx","path":..}
    {"type":"done","outDir":..,"steps":..,"final":{...last step...},"model":..,"onnx":..,"adapter":..}
    {"type":"error","code":..,"message":..}   (then a non-zero exit; see deps.py for the codes)
Anything else (library warnings, tracebacks) goes to stderr.

The stages live in their own modules: train_args (flags), update_data
(records, advantages, sequences, the start event), update_model (device,
policy), batches and update_steps (the optimizer steps, checkpoints),
update_export (outputs, the done event), resume, events, oom.
"""

from __future__ import annotations

import os
import random
import signal
import sys
import time
import traceback
from typing import List, Optional

from . import deps
from .deps import RuntimeFailure
from .events import Emitter, EventSink
from .train_args import build_parser, validate_args

__all__ = ["main", "cli", "build_parser", "Emitter"]


def main(argv: Optional[List[str]] = None, on_event: Optional[EventSink] = None, stdout=None) -> int:
    args = build_parser().parse_args(argv)
    real_stdout = stdout if stdout is not None else sys.stdout
    saved = sys.stdout
    sys.stdout = sys.stderr  # stdout carries only our JSON lines
    em = Emitter(real_stdout, on_event)
    try:
        validate_args(args)
        deps.require_torch()
        _run(args, em)
        return deps.EXIT_OK
    except RuntimeFailure as err:
        em.emit({"type": "error", "code": err.code, "message": err.message})
        print(f"ssr_runtime.train: error: {err.message}", file=sys.stderr, flush=True)
        return err.exit_code
    except KeyboardInterrupt:
        em.emit({"type": "error", "code": "cancelled", "message": "training cancelled"})
        print("ssr_runtime.train: cancelled", file=sys.stderr, flush=True)
        return deps.EXIT_CANCELLED
    except Exception as err:  # noqa: BLE001
        traceback.print_exc(file=sys.stderr)
        msg = f"{type(err).__name__}: {err}"
        em.emit({"type": "error", "code": "error", "message": msg})
        return deps.EXIT_ERROR
    finally:
        em.close()
        sys.stdout = saved


def _run(a, em: Emitter) -> None:
    # Imported here, after require_torch(): these modules import torch.
    import torch

    from . import update_data, update_export, update_model, update_steps
    from .batches import Batches, reference_logprobs
    from .resume import find_resume
    from .update_state import UpdateState

    st = UpdateState(a=a, em=em, t_start=time.time())
    random.seed(a.seed)
    torch.manual_seed(a.seed)
    # 0. A checkpoint to resume from (weights, optimizer state, step, sampler, data cursor)?
    st.resume = find_resume(a, em) if a.resume == "auto" else None
    # 1. Input first: a corrupt file should fail before minutes of model loading.
    update_data.read_inputs(st)
    # 2. Device.
    update_model.choose_device(st)
    os.makedirs(a.out, exist_ok=True)
    em.open(os.path.join(a.out, "metrics.jsonl"), append=st.resume is not None)
    # 3. Model. 4. Sequences from the policy's own tokens (only groups with reward variance), the plan.
    update_model.load(st)
    update_data.make_sequences(st)
    update_data.plan_and_start(st)
    # 5. Reference log-probs for the KL penalty. 6. The update.
    batches = Batches(st)
    ref_lp = reference_logprobs(st, batches)
    update_steps.run_steps(st, batches, ref_lp)
    # 7. Export: OUT/model (+ onnx/model.onnx inside it), OUT/adapter for LoRA; the summary.
    exported = update_export.export(st)
    update_export.finish(st, exported)


def cli() -> None:
    def _term(signum, _frame):
        raise KeyboardInterrupt()

    try:
        signal.signal(signal.SIGTERM, _term)
    except (ValueError, OSError):
        pass
    sys.exit(main())


if __name__ == "__main__":
    cli()
