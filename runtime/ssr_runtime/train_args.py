"""The command line of `python3 -m ssr_runtime.train`: its flags and their checks (BadInput, exit 2)."""

from __future__ import annotations

import argparse
import math

from .deps import BadInput


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


def validate_args(a: argparse.Namespace) -> None:
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
