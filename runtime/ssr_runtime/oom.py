"""Out of memory: recognising it (GPU or CPU) and saying which flags lower the memory use."""

from __future__ import annotations

import argparse


def is_oom(err: BaseException) -> bool:
    import torch

    if isinstance(err, getattr(torch.cuda, "OutOfMemoryError", ())):
        return True
    msg = str(err)
    return isinstance(err, (RuntimeError, MemoryError)) and (
        "out of memory" in msg or "can't allocate memory" in msg or "DefaultCPUAllocator" in msg or isinstance(err, MemoryError)
    )


def oom_message(a: argparse.Namespace, device: str, where: str, longest: int) -> str:
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
