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
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import signal
import sys
import time
import traceback
from typing import Any, Callable, Dict, List, Optional

from . import deps
from .deps import BadInput, DeviceError, OutOfMemory, RuntimeFailure

EventSink = Callable[[Dict[str, Any]], None]


def _clean(v: Any) -> Any:
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if isinstance(v, dict):
        return {k: _clean(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_clean(x) for x in v]
    return v


class Emitter:
    """Writes events as JSON lines to stdout (the driver) and OUT/metrics.jsonl."""

    def __init__(self, stream, on_event: Optional[EventSink] = None):
        self.stream = stream
        self.on_event = on_event
        self.file = None
        self.pending: List[str] = []
        self.t0 = time.time()

    def open(self, path: str, append: bool = False) -> None:
        self.file = open(path, "a" if append else "w", encoding="utf-8")
        for line in self.pending:
            self.file.write(line + "\n")
        self.pending = []
        self.file.flush()

    def emit(self, ev: Dict[str, Any]) -> Dict[str, Any]:
        ev = _clean(ev)
        ev.setdefault("time", round(time.time(), 3))
        line = json.dumps(ev, separators=(",", ":"))
        if self.stream is not None:
            self.stream.write(line + "\n")
            self.stream.flush()
        if self.file is not None:
            self.file.write(line + "\n")
            self.file.flush()
        else:
            self.pending.append(line)
        if self.on_event is not None:
            self.on_event(ev)
        return ev

    def log(self, message: str, level: str = "info") -> None:
        self.emit({"type": "log", "level": level, "message": message})
        print(f"[ssr-train] {level}: {message}", file=sys.stderr, flush=True)

    def warn(self, message: str) -> None:
        self.log(message, "warn")

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="python3 -m ssr_runtime.train",
        description="SSR policy update: group-relative clipped policy gradient on a run's trajectories.jsonl.",
    )
    ap.add_argument("--run", required=True, help="run folder holding trajectories.jsonl (or the .jsonl file itself)")
    ap.add_argument("--model", required=True, help="policy model folder (Hugging Face layout)")
    ap.add_argument("--out", required=True, help="output folder (model/, onnx/, adapter/, checkpoints/, metrics.jsonl)")
    ap.add_argument("--device", default="auto", help="cpu | cuda | cuda:N | auto (cuda when available; default)")
    ap.add_argument("--dtype", default="auto", choices=["auto", "bf16", "fp32"], help="auto: bf16 on CUDA, fp32 on CPU")
    ap.add_argument("--backend", default="auto", choices=["auto", "hf", "tiny"], help="model loader: transformers (hf) or ssr_runtime.tiny_model")
    ap.add_argument("--steps", type=int, default=None, help="optimizer steps (default: one pass over the trainable sequences)")
    ap.add_argument("--lr", type=float, default=None, help="learning rate (default 1e-6 full fine-tuning, 2e-5 LoRA)")
    ap.add_argument("--warmup-steps", type=int, default=0, help="linear learning-rate warm-up")
    ap.add_argument("--weight-decay", type=float, default=0.0)
    ap.add_argument("--max-grad-norm", type=float, default=1.0, help="gradient clipping (0 disables)")
    ap.add_argument("--batch-size", type=int, default=1, help="sequences per micro-batch")
    ap.add_argument("--grad-accum", type=int, default=8, help="micro-batches per optimizer step")
    ap.add_argument("--max-len", type=int, default=None, help="tokens per sequence; longer ones are cut at the end (default 4096, at most the model's positions)")
    ap.add_argument("--clip", type=float, default=0.2, help="PPO clip range epsilon")
    ap.add_argument("--clip-high", type=float, default=None, help="upper clip epsilon (default: --clip)")
    ap.add_argument("--kl-coef", type=float, default=0.0, help="KL penalty to the reference policy (0: off)")
    ap.add_argument("--ref-model", default=None, help="reference policy folder for the KL penalty (default: --model)")
    ap.add_argument("--adv-norm", default="std", choices=["std", "mean"], help="std: (r-mean)/std (GRPO); mean: r-mean only")
    ap.add_argument("--lora", action="store_true", help="train a LoRA adapter (needs peft; full fine-tuning otherwise)")
    ap.add_argument("--lora-r", type=int, default=16)
    ap.add_argument("--lora-alpha", type=int, default=32)
    ap.add_argument("--lora-dropout", type=float, default=0.0)
    ap.add_argument("--lora-targets", default=None, help="comma-separated module names (default: attention + MLP projections)")
    ap.add_argument("--init-adapter", default=None, help="with --lora: start from this adapter's weights (the previous update's "
                    "OUT/adapter), so a served base model + the new adapter is the policy that keeps learning")
    ap.add_argument("--grad-checkpointing", default="auto", choices=["auto", "on", "off"], help="activation checkpointing (auto: on for CUDA)")
    ap.add_argument("--no-fused-logprobs", action="store_true", help="compute full logits instead of the chunked LM head")
    ap.add_argument("--checkpoint-every", type=int, default=50, help="checkpoint every K steps (0: only the final model)")
    ap.add_argument("--keep-checkpoints", type=int, default=3, help="keep the newest N checkpoints (0: all)")
    ap.add_argument("--onnx", default="auto", choices=["auto", "yes", "no"], help="add onnx/model.onnx to OUT/model for the onnx policy (auto: Llama models up to 600M parameters, failure is a warning; yes: always, failure is an error)")
    ap.add_argument("--skip-bad-lines", action="store_true", help="skip corrupt lines of trajectories.jsonl instead of failing")
    ap.add_argument("--from-line", type=int, default=0, help="data cursor: train only on records after this line of trajectories.jsonl "
                    "(the records since the last update; earlier ones still count in the injector's run baseline)")
    ap.add_argument("--policy-step", type=int, default=None, help="the current policy version (updates so far): records whose "
                    "policyVersion.step differs were sampled by another policy and are refused (see --off-policy)")
    ap.add_argument("--off-policy", default="refuse", choices=["refuse", "keep"], help="records of another policy version: refuse "
                    "(default: left out and counted) or keep (trained, with the PPO ratio where they carry log-probs)")
    ap.add_argument("--resume", default="auto", choices=["auto", "no"], help="auto: continue from OUT/checkpoints/latest.json "
                    "(weights, optimizer state, step, data cursor) when it exists; no: start over")
    ap.add_argument("--updates-file", default=None, help="append one line of per-update metrics here "
                    "(default RUN_DIR/train/updates.jsonl; 'none' disables)")
    ap.add_argument("--seed", type=int, default=0)
    return ap


def _validate_args(a: argparse.Namespace) -> None:
    if a.steps is not None and a.steps < 0:
        raise BadInput("--steps must be >= 0")
    if a.lr is not None and (a.lr < 0 or not math.isfinite(a.lr)):
        raise BadInput("--lr must be a finite number >= 0")
    if a.batch_size < 1 or a.grad_accum < 1:
        raise BadInput("--batch-size and --grad-accum must be >= 1")
    if a.max_len is not None and a.max_len < 2:
        raise BadInput("--max-len must be >= 2")
    if not (0 < a.clip < 1) or (a.clip_high is not None and a.clip_high <= 0):
        raise BadInput("--clip must be in (0, 1) and --clip-high > 0")
    if a.kl_coef < 0:
        raise BadInput("--kl-coef must be >= 0")
    if a.checkpoint_every < 0 or a.keep_checkpoints < 0:
        raise BadInput("--checkpoint-every and --keep-checkpoints must be >= 0")
    if a.from_line < 0 or (a.policy_step is not None and a.policy_step < 0):
        raise BadInput("--from-line and --policy-step must be >= 0")


def _is_oom(err: BaseException) -> bool:
    import torch

    if isinstance(err, getattr(torch.cuda, "OutOfMemoryError", ())):
        return True
    msg = str(err)
    return isinstance(err, (RuntimeError, MemoryError)) and (
        "out of memory" in msg or "can't allocate memory" in msg or "DefaultCPUAllocator" in msg or isinstance(err, MemoryError)
    )


def _oom_message(a: argparse.Namespace, device: str, where: str, longest: int) -> str:
    tips = []
    if a.batch_size > 1:
        tips.append(f"--batch-size {a.batch_size // 2} (is {a.batch_size}; raise --grad-accum to {a.grad_accum * 2} to keep the step size)")
    cur = a.max_len if a.max_len is not None else 4096
    if longest:
        tips.append(f"--max-len {max(256, min(cur, longest) // 2)} (is {cur}, longest sequence {longest})")
    else:
        tips.append(f"--max-len (is {cur})")
    if not a.lora:
        tips.append("--lora (train an adapter instead of all weights; needs peft)")
    if a.grad_checkpointing != "on" and not (a.grad_checkpointing == "auto" and device.startswith("cuda")):
        tips.append("--grad-checkpointing on")
    if a.kl_coef > 0 and a.ref_model:
        tips.append("drop --ref-model (the reference log-probs are then computed with the policy itself)")
    return f"out of {'GPU' if device.startswith('cuda') else 'CPU'} memory {where}. Lower the memory use: " + "; ".join(tips) + "."


class _Sampler:
    """Cycles through sequence indices in a fresh random order every epoch."""

    def __init__(self, n: int, seed: int):
        self.n = n
        self.rng = random.Random(seed)
        self.queue: List[int] = []

    def state(self) -> Dict[str, Any]:
        st = self.rng.getstate()
        return {"rng": [st[0], list(st[1]), st[2]], "queue": list(self.queue)}

    def restore(self, state: Dict[str, Any]) -> None:
        v, inner, g = state["rng"]
        self.rng.setstate((v, tuple(inner), g))
        self.queue = [int(i) for i in state["queue"]]

    def take(self, k: int) -> List[int]:
        """k distinct indices (k <= n), continuing the current epoch's order."""
        out: List[int] = []
        chosen = set()
        k = min(k, self.n)
        while len(out) < k:
            j = next((j for j, i in enumerate(self.queue) if i not in chosen), None)
            if j is None:
                perm = list(range(self.n))
                self.rng.shuffle(perm)
                self.queue.extend(perm)
                continue
            i = self.queue.pop(j)
            chosen.add(i)
            out.append(i)
        return out


def main(argv: Optional[List[str]] = None, on_event: Optional[EventSink] = None, stdout=None) -> int:
    args = build_parser().parse_args(argv)
    real_stdout = stdout if stdout is not None else sys.stdout
    saved = sys.stdout
    sys.stdout = sys.stderr  # stdout carries only our JSON lines
    em = Emitter(real_stdout, on_event)
    try:
        _validate_args(args)
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


def _run(a: argparse.Namespace, em: Emitter) -> None:
    import torch

    from .advantages import group_advantages
    from .data import build_sequences, count_lines, read_records, trajectories_path
    from .modeling import (apply_lora, enable_checkpointing, export_onnx_into, load_adapter_weights, load_policy, resolve_dtype,
                           save_checkpoint, save_final)
    from .objective import LossStats, policy_loss, sequence_logprobs

    t_start = time.time()
    random.seed(a.seed)
    torch.manual_seed(a.seed)

    # 0. A checkpoint to resume from (weights, optimizer state, step, sampler, data cursor)?
    resume = _find_resume(a, em) if a.resume == "auto" else None

    # 1. Input first: a corrupt file should fail before minutes of model loading. The data cursor
    # (lines of trajectories.jsonl this update reads) is fixed at the start, and a resumed update
    # reads exactly the lines it started with.
    cursor = int(resume["cursor"]) if resume else count_lines(a.run)
    records = read_records(a.run, skip_bad_lines=a.skip_bad_lines, warn=em.warn, max_lines=cursor or None)
    window = [r.line > a.from_line for r in records]
    other_version = [
        a.policy_step is not None and r.version_step is not None and r.version_step != a.policy_step for r in records
    ]
    include = [w and not (o and a.off_policy == "refuse") for w, o in zip(window, other_version)]
    off_policy = {role: sum(1 for r, w, o in zip(records, window, other_version) if w and o and r.role == role) for role in ("solver", "injector")}
    if sum(off_policy.values()):
        n_off = sum(off_policy.values())
        if a.off_policy == "refuse":
            em.warn(f"{n_off} trajectories were sampled by another policy version than --policy-step {a.policy_step}: refused "
                    "(not trained; pass --off-policy keep to train them with the PPO ratio)")
        else:
            em.warn(f"{n_off} trajectories were sampled by another policy version than --policy-step {a.policy_step}: kept (--off-policy keep)")
    if a.from_line:
        em.log(f"data cursor: training on lines {a.from_line + 1}..{cursor} of trajectories.jsonl "
               f"({sum(window)} of {len(records)} records; the earlier ones only enter the injector's run baseline)")
    adv = group_advantages([r.group for r in records], [r.reward for r in records], [r.role for r in records],
                           std_norm=a.adv_norm == "std", include=include)

    # 2. Device.
    dev_name = a.device
    if dev_name == "auto":
        dev_name = "cuda" if torch.cuda.is_available() else "cpu"
    if dev_name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise DeviceError(
                f"--device {a.device} was asked for but CUDA is not available to PyTorch {torch.__version__} "
                f"({'a CPU-only build' if not torch.version.cuda else 'built for CUDA ' + torch.version.cuda + '; no usable GPU or driver (check nvidia-smi)'}). "
                "Use --device cpu, or install a CUDA build of PyTorch."
            )
        try:
            device = torch.device(dev_name)
            torch.cuda.get_device_properties(device)
        except Exception as err:  # noqa: BLE001
            raise DeviceError(f"--device {dev_name}: {err}") from None
    elif dev_name == "cpu":
        device = torch.device("cpu")
    else:
        raise BadInput(f"--device must be cpu, cuda, cuda:N or auto, got {a.device!r}")

    os.makedirs(a.out, exist_ok=True)
    em.open(os.path.join(a.out, "metrics.jsonl"), append=resume is not None)

    dtype = resolve_dtype(a.dtype, device, em.warn)
    autocast = device.type == "cuda" and dtype == torch.bfloat16

    def amp():
        if autocast:
            return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
        import contextlib

        return contextlib.nullcontext()

    # 3. Model.
    try:
        pol = load_policy(a.model, device, dtype, a.backend, em.warn)
    except Exception as err:
        if _is_oom(err):
            raise OutOfMemory(_oom_message(a, dev_name, "while loading the model", 0)) from None
        raise
    if a.lora:
        targets = [t.strip() for t in a.lora_targets.split(",")] if a.lora_targets else None
        apply_lora(pol, a.lora_r, a.lora_alpha, a.lora_dropout, targets, em.warn)
    if a.init_adapter:
        if not pol.lora:
            raise BadInput("--init-adapter needs --lora (and LoRA applied to this model)")
        n = load_adapter_weights(pol, a.init_adapter)
        em.log(f"LoRA starts from {a.init_adapter} ({n} tensors)")
    # The default learning rate follows what is actually trained: LoRA may have fallen back to full
    # fine-tuning (no peft, or it could not be applied), and full fine-tuning at LoRA's 2e-5 diverges.
    lr = a.lr if a.lr is not None else (2e-5 if pol.lora else 1e-6)
    if a.lora and not pol.lora and a.lr is None:
        em.warn(f"--lora fell back to full fine-tuning: default learning rate {lr:g} (full fine-tuning's), not LoRA's 2e-5")
    ckpt = a.grad_checkpointing == "on" or (a.grad_checkpointing == "auto" and device.type == "cuda")
    if ckpt:
        ckpt = enable_checkpointing(pol.model, em.warn)
    max_pos = getattr(getattr(pol.model, "config", None), "max_position_embeddings", None)
    max_len = a.max_len if a.max_len is not None else 4096
    if isinstance(max_pos, int) and 0 < max_pos < max_len:
        if a.max_len is not None:
            em.log(f"--max-len {max_len} is above the model's {max_pos} positions; using {max_pos}")
        max_len = max_pos

    # 4. Sequences from the policy's own tokens (only groups with reward variance).
    src = trajectories_path(a.run)
    seqs, bstats = build_sequences(records, pol.tokenizer, max_len, pol.vocab_size, include=lambda i: adv.trainable[i], warn=em.warn, source=src)
    no_ids = sum(1 for i, r in enumerate(records) if adv.trainable[i] and r.logprobs_without_ids)
    if no_ids:
        em.warn(
            f"{no_ids} trajectories carry log-probs without token ids (the server was not asked for ids, or cannot give them): "
            "re-tokenised with the model's tokenizer and trained on-policy, without the PPO ratio"
        )
    if bstats.retokenised_turns:
        em.warn(
            f"{bstats.retokenised_turns} of {bstats.turns} assistant turns ({bstats.retokenised_records} trajectories) carry no token ids: "
            "re-tokenised from the messages with the model's chat template; those tokens are trained on-policy (no PPO ratio)"
        )
    if bstats.turns_without_prompt_ids:
        em.log(f"{bstats.turns_without_prompt_ids} turns have sampled token ids but no prompt ids: prompts re-tokenised with the chat template")
    if bstats.left_truncated_sequences:
        em.warn(f"{bstats.left_truncated_sequences} sequences have a prompt longer than --max-len {max_len}: cut on the left "
                "(earliest context dropped, completion kept; trained without the PPO ratio)")
    if bstats.truncated_sequences:
        em.warn(f"{bstats.truncated_sequences} sequences were longer than --max-len {max_len}: {bstats.truncated_loss_tokens} completion tokens beyond it are not trained")
    zero_var = adv.zero_variance_groups
    if zero_var:
        em.log(f"{zero_var} of {adv.n_groups} groups have no reward variance (all attempts scored the same): skipped, they carry no signal")

    per_step = a.batch_size * a.grad_accum
    steps = a.steps if a.steps is not None else (math.ceil(len(seqs) / per_step) if seqs else 0)
    if resume and resume.get("steps") is not None and seqs:
        steps = int(resume["steps"])
    if not seqs:
        em.warn(f"nothing to learn: no trajectory is in a group with reward variance ({zero_var} of {adv.n_groups} groups have none); the model is written out unchanged")
        steps = 0
    total_params, trainable_params = pol.params()
    roles = {}
    by_role = adv.by_role()
    for role in ("solver", "injector"):
        rs = [r.reward for r, w in zip(records, window) if r.role == role and w]
        roles[role] = {
            "trajectories": len(rs), "meanReward": (sum(rs) / len(rs)) if rs else None,
            "zeroVarianceGroups": by_role.get(role, {}).get("zeroVarianceGroups", 0),
            "baselineGroups": by_role.get(role, {}).get("baselineGroups", 0),
            "offPolicy": off_policy[role], "used": 0,
        }
    em.emit({
        "type": "start", "run": os.path.abspath(a.run), "model": os.path.abspath(a.model), "outDir": os.path.abspath(a.out),
        "device": str(device), "dtype": str(dtype).replace("torch.", ""), "backend": pol.backend, "lora": pol.lora,
        "gradientCheckpointing": bool(ckpt), "params": total_params, "trainableParams": trainable_params,
        "records": len(records), "cursor": cursor, "fromLine": a.from_line, "policyStep": a.policy_step,
        "resumedFrom": resume["step"] if resume else None, "groups": adv.n_groups, "zeroVarianceGroups": zero_var, "groupsByRole": adv.by_role(),
        "roles": roles, "sequences": len(seqs), "lossTokens": bstats.loss_tokens, "retokenisedTurns": bstats.retokenised_turns,
        "turns": bstats.turns, "turnsWithLogprobs": bstats.turns_with_logprobs, "steps": steps, "lr": lr,
        "batchSize": a.batch_size, "gradAccum": a.grad_accum, "maxLen": max_len, "clip": a.clip, "klCoef": a.kl_coef,
        "seed": a.seed, "torch": torch.__version__,
    })

    seq_adv = [adv.advantages[s.record] for s in seqs]
    pad_id = getattr(pol.tokenizer, "pad_token_id", None)
    if not isinstance(pad_id, int):
        pad_id = 0
    fused = not a.no_fused_logprobs

    def collate(idxs: List[int], ref: Optional[List[Any]] = None):
        T = max(len(seqs[i]) for i in idxs)
        B = len(idxs)
        ids = torch.full((B, T), pad_id, dtype=torch.long)
        attn = torch.zeros((B, T), dtype=torch.long)
        mask = torch.zeros((B, T), dtype=torch.float32)
        old = torch.zeros((B, T), dtype=torch.float32)
        has = torch.zeros((B, T), dtype=torch.float32)
        advs = torch.zeros((B, 1), dtype=torch.float32)
        refl = torch.zeros((B, T), dtype=torch.float32) if ref is not None else None
        temp = torch.ones((B,), dtype=torch.float32)
        for row, i in enumerate(idxs):
            s = seqs[i]
            n = len(s)
            ids[row, :n] = torch.tensor(s.input_ids, dtype=torch.long)
            attn[row, :n] = 1
            mask[row, :n] = torch.tensor(s.loss_mask, dtype=torch.float32)
            old[row, :n] = torch.tensor(s.old_logprobs, dtype=torch.float32)
            has[row, :n] = torch.tensor(s.has_old, dtype=torch.float32)
            advs[row, 0] = seq_adv[i]
            temp[row] = s.temperature
            if refl is not None:
                refl[row, :n] = ref[i]
        out = [ids, attn, mask, old, has, advs, refl, temp]
        return [t.to(device, non_blocking=True) if t is not None else None for t in out]

    # 5. Reference log-probs for the KL penalty: computed once, so no second model stays in memory.
    ref_lp: Optional[List[Any]] = None
    if a.kl_coef > 0 and seqs and steps:
        ref_pol = pol
        if a.ref_model:
            ref_pol = load_policy(a.ref_model, device, dtype, a.backend, em.warn)
        em.log(f"computing reference log-probs for the KL penalty ({'--ref-model ' + a.ref_model if a.ref_model else 'the policy as loaded'})")
        ref_lp = [None] * len(seqs)
        ref_pol.model.eval()
        with torch.no_grad():
            for s0 in range(0, len(seqs), a.batch_size):
                idxs = list(range(s0, min(len(seqs), s0 + a.batch_size)))
                ids, attn, *_rest, temp = collate(idxs)
                try:
                    with amp():
                        lp = sequence_logprobs(ref_pol.model, ids, attn, fused=fused, temperature=temp).float().cpu()
                except Exception as err:
                    if _is_oom(err):
                        raise OutOfMemory(_oom_message(a, dev_name, "while computing reference log-probs", max(len(seqs[i]) for i in idxs))) from None
                    raise
                for row, i in enumerate(idxs):
                    ref_lp[i] = lp[row, : len(seqs[i])]
        if ref_pol is not pol:
            del ref_pol
            if device.type == "cuda":
                torch.cuda.empty_cache()

    # 6. The update.
    params = [p for p in pol.model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=a.weight_decay) if params else None
    sampler = _Sampler(len(seqs), a.seed)
    ckpt_root = os.path.join(a.out, "checkpoints")
    checkpoints: List[str] = []
    last: Optional[Dict[str, Any]] = None
    used_records = set()
    first_step = 1
    if resume:
        first_step = _restore(resume, pol, opt, sampler, em, torch)
        used_records.update(int(i) for i in resume.get("usedRecords", []))
        checkpoints.append(resume["path"])
    totals = {"loss": 0.0, "kl": [], "clipFrac": [], "tokensPerSec": [], "klRollout": [], "ratioTokens": 0, "lossTokens": 0, "tokens": 0, "sec": 0.0}
    pol.model.train()
    # Started by the TypeScript driver (its own process group, so a kill -9 of the driver does not reach
    # us): stop when the driver is gone instead of training on as an orphan; the checkpoint resumes it.
    watch_parent = os.environ.get("SSR_TRAIN_PARENT_PID")
    for step in range(first_step, steps + 1):
        if watch_parent and str(os.getppid()) != watch_parent:
            raise RuntimeFailure(f"the driver process {watch_parent} is gone; stopping at step {step - 1} (rerun to resume from the last checkpoint)")
        t0 = time.time()
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        idxs = sampler.take(min(per_step, len(seqs)))
        micro = [idxs[i:i + a.batch_size] for i in range(0, len(idxs), a.batch_size)]
        norm = float(sum(seqs[i].n_loss_tokens for i in idxs))
        cur_lr = lr * min(1.0, step / a.warmup_steps) if a.warmup_steps > 0 else lr
        for g in opt.param_groups if opt else []:
            g["lr"] = cur_lr
        if opt:
            opt.zero_grad(set_to_none=True)
        st = LossStats()
        loss_sum = 0.0
        tokens = 0
        longest = max(len(seqs[i]) for i in idxs)
        try:
            for mb in micro:
                ids, attn, mask, old, has, advs, refl, temp = collate(mb, ref_lp)
                with amp():
                    logp = sequence_logprobs(pol.model, ids, attn, fused=fused, temperature=temp)
                loss, s = policy_loss(logp.float(), old, has, advs, mask, refl, clip_eps=a.clip, clip_eps_high=a.clip_high, kl_coef=a.kl_coef, norm_tokens=norm)
                if params:
                    loss.backward()
                st.add(s)
                loss_sum += float(loss.item())
                tokens += int(attn.sum().item())
                del logp, loss
            grad_norm = None
            if params:
                if a.max_grad_norm > 0:
                    grad_norm = float(torch.nn.utils.clip_grad_norm_(params, a.max_grad_norm).item())
                opt.step()
        except RuntimeFailure:
            raise
        except Exception as err:
            if _is_oom(err):
                raise OutOfMemory(_oom_message(a, dev_name, f"at step {step} ({len(micro[0])} sequences per micro-batch, longest {longest} tokens)", longest)) from None
            raise
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        dt = max(time.time() - t0, 1e-9)
        summ = st.summary()
        reward: Dict[str, Optional[float]] = {}
        for role in ("solver", "injector"):
            rs = [records[seqs[i].record].reward for i in idxs if records[seqs[i].record].role == role]
            reward[role] = (sum(rs) / len(rs)) if rs else None
        mem = None
        if device.type == "cuda":
            mem = torch.cuda.max_memory_allocated(device) / 2 ** 20
        ev = {
            "type": "step", "step": step, "steps": steps, "loss": loss_sum, "pgLoss": summ["pgLoss"], "kl": summ["kl"],
            "klRollout": summ["klRollout"], "clipFrac": summ["clipFrac"], "ratioMean": summ["ratioMean"],
            "reward": reward, "sequences": len(idxs), "tokens": tokens, "lossTokens": int(st.tokens),
            "tokensPerSec": tokens / dt, "memoryMB": mem, "rssMB": _rss_mb(), "gradNorm": grad_norm, "lr": cur_lr,
            "stepSec": dt, "elapsedSec": time.time() - t_start,
        }
        last = em.emit(ev)
        used_records.update(seqs[i].record for i in idxs if seq_adv[i] != 0.0)
        totals["loss"] += loss_sum
        totals["tokens"] += tokens
        totals["lossTokens"] += int(st.tokens)
        totals["ratioTokens"] += int(summ.get("ratioTokens") or 0)
        totals["sec"] += dt
        for k in ("kl", "clipFrac", "klRollout"):
            if summ.get(k) is not None:
                totals[k].append(summ[k])
        if a.checkpoint_every and step % a.checkpoint_every == 0 and step < steps:
            path = os.path.join(ckpt_root, f"step-{step:06d}")
            os.makedirs(ckpt_root, exist_ok=True)
            state = {"step": step, "steps": steps, "lr": cur_lr, "loss": loss_sum, "seed": a.seed,
                     "run": os.path.abspath(a.run), "model": os.path.abspath(a.model), "time": time.time(),
                     "cursor": cursor, "fromLine": a.from_line, "policyStep": a.policy_step,
                     "sampler": sampler.state(), "usedRecords": sorted(used_records), "lora": pol.lora}
            save_checkpoint(pol, path, state, extra=_resume_blob(pol, opt, torch))
            _write_json_atomic(os.path.join(ckpt_root, "latest.json"), {"step": step, "path": path})
            checkpoints.append(path)
            em.emit({"type": "checkpoint", "step": step, "path": path})
            if a.keep_checkpoints and len(checkpoints) > a.keep_checkpoints:
                import shutil

                old_path = checkpoints.pop(0)
                shutil.rmtree(old_path, ignore_errors=True)

    # 7. Export: OUT/model (+ onnx/model.onnx inside it, so one folder serves the `onnx` policy,
    # vLLM and the next update), OUT/adapter for LoRA.
    pol.model.eval()
    onnx_path = None
    onnx_error = None
    do_onnx = a.onnx != "no"
    cfg_type = getattr(getattr(pol.model, "config", None), "model_type", None)
    if a.onnx == "auto" and total_params > 600_000_000:
        onnx_error = f"skipped: {total_params / 1e9:.1f}B parameters is large for the onnx policy (pass --onnx yes to export anyway)"
        em.log(f"ONNX export {onnx_error}")
        do_onnx = False
    elif a.onnx == "auto" and cfg_type not in (None, "llama"):
        onnx_error = f"skipped: export_onnx handles Llama-architecture models, this one is {cfg_type!r}"
        em.log(f"ONNX export {onnx_error}")
        do_onnx = False

    def add_onnx(tmp_model: str) -> None:
        nonlocal onnx_error, onnx_path
        if not do_onnx:
            return
        try:
            export_onnx_into(tmp_model)
            onnx_path = "onnx/model.onnx"
        except Exception as err:  # noqa: BLE001
            onnx_error = f"{type(err).__name__}: {err}"
            if a.onnx == "yes":
                raise RuntimeFailure(f"ONNX export failed: {onnx_error}") from None
            em.warn(f"ONNX export failed ({onnx_error}); the PyTorch model is still written")

    paths = save_final(pol, a.out, em.warn, before_publish=add_onnx)
    if paths.get("adapter"):
        em.emit({"type": "export", "kind": "adapter", "path": paths["adapter"]})
    em.emit({"type": "export", "kind": "model", "path": paths["model"]})
    if onnx_path:
        onnx_path = os.path.join(paths["model"], onnx_path)
        em.emit({"type": "export", "kind": "onnx", "path": paths["model"], "file": onnx_path})
    for role in ("solver", "injector"):
        roles[role]["used"] = sum(1 for i in used_records if records[i].role == role)
    retokenised = sum(1 for s in seqs if s.retokenised and s.record in used_records)
    retok_records = len({s.record for s in seqs if s.retokenised and s.record in used_records})
    update = {
        "time": round(time.time(), 3), "out": os.path.abspath(a.out), "model": os.path.abspath(a.model), "policyStep": a.policy_step,
        "fromLine": a.from_line, "cursor": cursor, "steps": steps, "resumedFrom": resume["step"] if resume else None,
        "roles": {r: {k: roles[r][k] for k in ("trajectories", "used", "meanReward", "zeroVarianceGroups", "baselineGroups", "offPolicy")} for r in roles},
        "solveRate": _share([r.reward > 0 for r, w in zip(records, window) if w and r.role == "solver"]),
        "validShare": _share([r.reward > -1.0 + 1e-9 for r, w in zip(records, window) if w and r.role == "injector"]),
        "loss": (totals["loss"] / max(1, steps - first_step + 1)) if steps >= first_step else None,
        "kl": _mean(totals["kl"]), "klRollout": _mean(totals["klRollout"]), "clipFrac": _mean(totals["clipFrac"]),
        "tokensPerSec": (totals["tokens"] / totals["sec"]) if totals["sec"] > 0 else None,
        "ratioTokens": totals["ratioTokens"], "lossTokens": totals["lossTokens"], "retokenised": retok_records,
    }
    updates_path = _updates_path(a)
    if updates_path:
        os.makedirs(os.path.dirname(updates_path), exist_ok=True)
        with open(updates_path, "a", encoding="utf-8") as f:
            f.write(json.dumps(_clean(update), separators=(",", ":")) + "\n")
    em.emit({
        "type": "done", "outDir": os.path.abspath(a.out), "out": os.path.abspath(a.out), "steps": steps, "final": last,
        "roles": {r: {"trajectories": roles[r]["trajectories"], "used": roles[r]["used"], "zeroVarianceGroups": roles[r]["zeroVarianceGroups"],
                      "baselineGroups": roles[r]["baselineGroups"], "offPolicy": roles[r]["offPolicy"], "meanReward": roles[r]["meanReward"]}
                  for r in roles},
        "retokenised": retok_records, "retokenisedSequences": retokenised,
        "ppoRatio": {"tokens": totals["ratioTokens"], "used": totals["ratioTokens"] > 0},
        "update": update, "updatesFile": updates_path, "resumedFrom": resume["step"] if resume else None,
        "model": paths.get("model"), "adapter": paths.get("adapter"), "onnx": paths["model"] if onnx_path else None,
        "onnxFile": onnx_path, "onnxError": onnx_error,
        "checkpoints": checkpoints, "metrics": os.path.join(a.out, "metrics.jsonl"),
        "zeroVarianceGroups": zero_var, "groups": adv.n_groups, "sequences": len(seqs),
        "elapsedSec": time.time() - t_start,
    })


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


RESUME_FILE = "resume.pt"


def _resume_blob(pol: Any, opt: Any, torch: Any) -> Callable[[str], None]:
    """Writes what a resumed update needs beyond trainer_state.json: the trainable parameters (the full
    weights, or the LoRA weights), the optimizer state and the torch RNG state."""

    def write(folder: str) -> None:
        trainable = {n: p.detach().cpu() for n, p in pol.model.named_parameters() if p.requires_grad}
        torch.save({"trainable": trainable, "optimizer": opt.state_dict() if opt else None,
                    "torch_rng": torch.get_rng_state()}, os.path.join(folder, RESUME_FILE))

    return write


def _find_resume(a: argparse.Namespace, em: "Emitter") -> Optional[Dict[str, Any]]:
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


def _restore(resume: Dict[str, Any], pol: Any, opt: Any, sampler: "_Sampler", em: "Emitter", torch: Any) -> int:
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


def _rss_mb() -> Optional[float]:
    try:
        import resource

        r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return r / 1024.0 if sys.platform != "darwin" else r / 2 ** 20
    except Exception:  # noqa: BLE001
        return None


def _write_json_atomic(path: str, data: Any) -> None:
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


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
