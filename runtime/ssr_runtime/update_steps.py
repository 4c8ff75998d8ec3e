"""The optimizer steps of an update: micro-batches, the clipped policy-gradient loss, AdamW, checkpoints.

Each step takes `batch-size x grad-accum` sequences from the sampler, sums
the loss over its micro-batches (normalised by the step's loss tokens), clips
the gradient norm and steps AdamW, then emits a `step` event; every
--checkpoint-every steps it writes a checkpoint a killed update resumes from.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from typing import Any, Dict, List, Optional

import torch

from . import objective
from .batches import Batches
from .deps import OutOfMemory, RuntimeFailure
from .oom import is_oom, oom_message
from .resume import restore, resume_blob, write_json_atomic
from .sampler import Sampler
from .saving import save_checkpoint
from .update_state import UpdateState


def run_steps(st: UpdateState, batches: Batches, ref_lp: Optional[List[Any]]) -> None:
    a, em, pol = st.a, st.em, st.pol
    params = [p for p in pol.model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=st.lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=a.weight_decay) if params else None
    sampler = Sampler(len(st.seqs), a.seed)
    if st.resume:
        st.first_step = restore(st.resume, pol, opt, sampler, em, torch)
        st.used_records.update(int(i) for i in st.resume.get("usedRecords", []))
        st.checkpoints.append(st.resume["path"])
    st.totals = {"loss": 0.0, "kl": [], "clipFrac": [], "tokensPerSec": [], "klRollout": [], "ratioTokens": 0, "lossTokens": 0,
                 "tokens": 0, "sec": 0.0}
    pol.model.train()
    # Started by the TypeScript driver (its own process group, so a kill -9 of the driver does not reach
    # us): stop when the driver is gone instead of training on as an orphan; the checkpoint resumes it.
    watch_parent = os.environ.get("SSR_TRAIN_PARENT_PID")
    for step in range(st.first_step, st.steps + 1):
        if watch_parent and str(os.getppid()) != watch_parent:
            raise RuntimeFailure(f"the driver process {watch_parent} is gone; stopping at step {step - 1} (rerun to resume from the last checkpoint)")
        ev, idxs, summ = _step(st, step, batches, ref_lp, params, opt, sampler)
        st.last = em.emit(ev)
        st.used_records.update(st.seqs[i].record for i in idxs if batches.seq_adv[i] != 0.0)
        _add_totals(st.totals, ev, summ)
        if a.checkpoint_every and step % a.checkpoint_every == 0 and step < st.steps:
            _checkpoint(st, step, ev, sampler, opt)


def _step(st: UpdateState, step: int, batches: Batches, ref_lp, params, opt, sampler: Sampler):
    """One optimizer step; returns its `step` event, the sequences it saw and the loss statistics."""
    a, seqs, device = st.a, st.seqs, st.device
    t0 = time.time()
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    idxs = sampler.take(min(a.batch_size * a.grad_accum, len(seqs)))
    cur_lr = st.lr * min(1.0, step / a.warmup_steps) if a.warmup_steps > 0 else st.lr
    for g in opt.param_groups if opt else []:
        g["lr"] = cur_lr
    if opt:
        opt.zero_grad(set_to_none=True)
    stats, loss_sum, tokens, grad_norm = _accumulate(st, step, idxs, batches, ref_lp, params, opt)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    dt = max(time.time() - t0, 1e-9)
    summ = stats.summary()
    mem = torch.cuda.max_memory_allocated(device) / 2 ** 20 if device.type == "cuda" else None
    ev = {
        "type": "step", "step": step, "steps": st.steps, "loss": loss_sum, "pgLoss": summ["pgLoss"], "kl": summ["kl"],
        "klRollout": summ["klRollout"], "clipFrac": summ["clipFrac"], "ratioMean": summ["ratioMean"],
        "reward": _mean_rewards(st, idxs), "sequences": len(idxs), "tokens": tokens, "lossTokens": int(stats.tokens),
        "tokensPerSec": tokens / dt, "memoryMB": mem, "rssMB": _rss_mb(), "gradNorm": grad_norm, "lr": cur_lr,
        "stepSec": dt, "elapsedSec": time.time() - st.t_start,
    }
    return ev, idxs, summ


def _accumulate(st: UpdateState, step: int, idxs: List[int], batches: Batches, ref_lp, params, opt):
    """Forward and backward over the step's micro-batches, then the clipped AdamW step (an OOM says what to lower)."""
    a, seqs = st.a, st.seqs
    micro = [idxs[i:i + a.batch_size] for i in range(0, len(idxs), a.batch_size)]
    norm = float(sum(seqs[i].n_loss_tokens for i in idxs))
    stats = objective.LossStats()
    loss_sum = 0.0
    tokens = 0
    longest = max(len(seqs[i]) for i in idxs)
    try:
        for mb in micro:
            ids, attn, mask, old, has, advs, refl, temp = batches.collate(mb, ref_lp)
            with st.amp():
                logp = objective.sequence_logprobs(st.pol.model, ids, attn, fused=not a.no_fused_logprobs, temperature=temp)
            loss, s = objective.policy_loss(logp.float(), old, has, advs, mask, refl, clip_eps=a.clip, clip_eps_high=a.clip_high,
                                            kl_coef=a.kl_coef, norm_tokens=norm)
            if params:
                loss.backward()
            stats.add(s)
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
        if is_oom(err):
            where = f"at step {step} ({len(micro[0])} sequences per micro-batch, longest {longest} tokens)"
            raise OutOfMemory(oom_message(a, st.dev_name, where, longest)) from None
        raise
    return stats, loss_sum, tokens, grad_norm


def _mean_rewards(st: UpdateState, idxs: List[int]) -> Dict[str, Optional[float]]:
    """The mean reward of the step's trajectories per role (null: none of that role)."""
    reward: Dict[str, Optional[float]] = {}
    for role in ("solver", "injector"):
        rs = [st.records[st.seqs[i].record].reward for i in idxs if st.records[st.seqs[i].record].role == role]
        reward[role] = (sum(rs) / len(rs)) if rs else None
    return reward


def _add_totals(totals: Dict[str, Any], ev: Dict[str, Any], summ: Dict[str, Any]) -> None:
    totals["loss"] += ev["loss"]
    totals["tokens"] += ev["tokens"]
    totals["lossTokens"] += ev["lossTokens"]
    totals["ratioTokens"] += int(summ.get("ratioTokens") or 0)
    totals["sec"] += ev["stepSec"]
    for k in ("kl", "clipFrac", "klRollout"):
        if summ.get(k) is not None:
            totals[k].append(summ[k])


def _checkpoint(st: UpdateState, step: int, ev: Dict[str, Any], sampler: Sampler, opt) -> None:
    """OUT/checkpoints/step-NNNNNN (atomic), latest.json pointing at it, the oldest beyond --keep-checkpoints removed."""
    a, pol = st.a, st.pol
    ckpt_root = os.path.join(a.out, "checkpoints")
    path = os.path.join(ckpt_root, f"step-{step:06d}")
    os.makedirs(ckpt_root, exist_ok=True)
    state = {"step": step, "steps": st.steps, "lr": ev["lr"], "loss": ev["loss"], "seed": a.seed,
             "run": os.path.abspath(a.run), "model": os.path.abspath(a.model), "time": time.time(),
             "cursor": st.cursor, "fromLine": a.from_line, "policyStep": a.policy_step,
             "sampler": sampler.state(), "usedRecords": sorted(st.used_records), "lora": pol.lora}
    save_checkpoint(pol, path, state, extra=resume_blob(pol, opt, torch))
    write_json_atomic(os.path.join(ckpt_root, "latest.json"), {"step": step, "path": path})
    st.checkpoints.append(path)
    st.em.emit({"type": "checkpoint", "step": step, "path": path})
    if a.keep_checkpoints and len(st.checkpoints) > a.keep_checkpoints:
        old_path = st.checkpoints.pop(0)
        shutil.rmtree(old_path, ignore_errors=True)


def _rss_mb() -> Optional[float]:
    try:
        import resource

        r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return r / 1024.0 if sys.platform != "darwin" else r / 2 ** 20
    except Exception:  # noqa: BLE001
        return None
