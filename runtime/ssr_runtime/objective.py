"""Per-token log-probabilities and the clipped policy-gradient loss.

For every loss token t (a token the policy sampled in an assistant turn):

    rho_t  = exp(logp_t - logp_old_t)        rollout log-prob present (PPO ratio)
    rho_t  = exp(logp_t - stopgrad(logp_t))  otherwise: value 1, gradient of logp_t (on-policy)
    pg_t   = -min(rho_t * A, clip(rho_t, 1 - eps, 1 + eps_high) * A)
    kl_t   = exp(ref_t - logp_t) - (ref_t - logp_t) - 1     (k3 estimator, >= 0; only with kl_coef > 0)
    loss   = sum_t mask_t * (pg_t + kl_coef * kl_t) / N

where A is the trajectory's group-normalised advantage and N the number of
loss tokens in the whole optimizer step (token-level normalisation, so
gradient accumulation gives the same update as one big batch).
Prompt and observation tokens have mask 0 and so no gradient through their
own log-probabilities (they still act as context).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Optional

import torch
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint

MAX_LOG_RATIO = 20.0


def _chunk_logprobs(logits: torch.Tensor, targets: torch.Tensor, inv_temp: Optional[torch.Tensor] = None) -> torch.Tensor:
    """log softmax(logits / T)[targets] in float32 without materialising the full float32 log-softmax.
    `inv_temp`: (B, 1, 1) of 1/T per sequence (None: T = 1)."""
    logits = logits.float()
    if inv_temp is not None:
        logits = logits * inv_temp
    return logits.gather(-1, targets.unsqueeze(-1)).squeeze(-1) - torch.logsumexp(logits, dim=-1)


def logprobs_from_logits(logits: torch.Tensor, input_ids: torch.Tensor, chunk: int = 512, inv_temp: Optional[torch.Tensor] = None) -> torch.Tensor:
    """(B, T, V) logits -> (B, T) log p(input_ids[:, t] | input_ids[:, :t]); column 0 is 0 (no context)."""
    b, t = input_ids.shape
    targets = input_ids[:, 1:]
    pred = logits[:, :-1]
    parts = []
    for s in range(0, t - 1, chunk):
        e = min(t - 1, s + chunk)
        if pred.requires_grad and (e - s) * pred.shape[-1] * b > (1 << 22):
            parts.append(checkpoint(_chunk_logprobs, pred[:, s:e], targets[:, s:e], inv_temp, use_reentrant=False))
        else:
            parts.append(_chunk_logprobs(pred[:, s:e], targets[:, s:e], inv_temp))
    zero = torch.zeros(b, 1, dtype=torch.float32, device=input_ids.device)
    return torch.cat([zero] + parts, dim=1) if parts else zero


def _head_chunk(hidden: torch.Tensor, weight: torch.Tensor, bias: Optional[torch.Tensor], targets: torch.Tensor, inv_temp: Optional[torch.Tensor] = None) -> torch.Tensor:
    return _chunk_logprobs(F.linear(hidden, weight, bias), targets, inv_temp)


def logprobs_from_hidden(hidden: torch.Tensor, head: torch.nn.Module, input_ids: torch.Tensor, chunk: int = 512, inv_temp: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Like logprobs_from_logits but applies the LM head chunk by chunk (recomputed in backward),
    so the (B, T, V) logits never exist at once: the memory saver for large vocabularies."""
    b, t = input_ids.shape
    targets = input_ids[:, 1:]
    h = hidden[:, :-1]
    weight = head.weight
    bias = getattr(head, "bias", None)
    parts = []
    for s in range(0, t - 1, chunk):
        e = min(t - 1, s + chunk)
        if torch.is_grad_enabled():
            parts.append(checkpoint(_head_chunk, h[:, s:e], weight, bias, targets[:, s:e], inv_temp, use_reentrant=False))
        else:
            parts.append(_head_chunk(h[:, s:e], weight, bias, targets[:, s:e], inv_temp))
    zero = torch.zeros(b, 1, dtype=torch.float32, device=input_ids.device)
    return torch.cat([zero] + parts, dim=1) if parts else zero


def _unwrap(model: Any) -> Any:
    """The Hugging Face model under a peft wrapper (LoRA layers stay injected in it)."""
    if hasattr(model, "get_base_model"):
        try:
            return model.get_base_model()
        except Exception:  # noqa: BLE001
            return model
    return model


# Architectures whose logits are exactly lm_head(final hidden state) (no softcapping or scaling).
_PLAIN_HEAD_TYPES = {"llama", "qwen2", "qwen3", "mistral"}


def fused_head_parts(model: Any):
    """(decoder, head) when the chunked-head path is exact for this model, else None."""
    base = _unwrap(model)
    cfg = getattr(base, "config", None)
    mtype = getattr(cfg, "model_type", None) if cfg is not None else None
    if mtype not in _PLAIN_HEAD_TYPES:
        return None
    if getattr(cfg, "final_logit_softcapping", None) or getattr(cfg, "logit_scale", None):
        return None
    get_dec = getattr(base, "get_decoder", None)
    get_head = getattr(base, "get_output_embeddings", None)
    if not callable(get_dec) or not callable(get_head):
        return None
    try:
        dec, head = get_dec(), get_head()
    except Exception:  # noqa: BLE001
        return None
    if dec is None or head is None or not isinstance(head, torch.nn.Linear):
        return None
    return dec, head


def sequence_logprobs(
    model: Any, input_ids: torch.Tensor, attention_mask: Optional[torch.Tensor], fused: bool = True, chunk: int = 512,
    temperature: Optional[torch.Tensor] = None,
) -> torch.Tensor:
    """Per-token log-probs (B, T) float32 of input_ids under softmax(model logits / T) (position 0 is 0).

    `temperature`: (B,) per sequence, the temperature the rollout log-probs were taken at (so the PPO
    ratio compares the same distribution the tokens were sampled from); None or all ones: T = 1."""
    inv_temp = None
    if temperature is not None and bool((temperature != 1.0).any()):
        inv_temp = (1.0 / temperature.float()).view(-1, 1, 1)
    parts = fused_head_parts(model) if fused else None
    if parts is not None:
        dec, head = parts
        out = dec(input_ids=input_ids, attention_mask=attention_mask, use_cache=False)
        hidden = out.last_hidden_state if hasattr(out, "last_hidden_state") else out[0]
        return logprobs_from_hidden(hidden, head, input_ids, chunk, inv_temp)
    try:
        out = model(input_ids=input_ids, attention_mask=attention_mask, use_cache=False)
    except TypeError:  # models without a use_cache argument (the tiny model)
        out = model(input_ids, attention_mask=attention_mask)
    logits = out.logits if hasattr(out, "logits") else (out[0] if isinstance(out, (tuple, list)) else out)
    return logprobs_from_logits(logits, input_ids, chunk, inv_temp)


@dataclass
class LossStats:
    """Sums over loss tokens, so micro-batches can be added up and divided at the end."""

    tokens: float = 0.0
    pg_sum: float = 0.0
    kl_sum: float = 0.0
    kl_tokens: float = 0.0  # tokens with a reference log-prob (kl_coef > 0)
    ratio_tokens: float = 0.0  # tokens with a rollout log-prob
    clipped: float = 0.0
    ratio_sum: float = 0.0
    old_kl_sum: float = 0.0  # k3(rollout || current) over ratio tokens: how far the policy moved

    def add(self, other: "LossStats") -> None:
        for k in self.__dataclass_fields__:
            setattr(self, k, getattr(self, k) + getattr(other, k))

    def summary(self) -> Dict[str, float]:
        n = max(self.tokens, 1.0)
        r = max(self.ratio_tokens, 1.0)
        return {
            "pgLoss": self.pg_sum / n,
            "kl": max(0.0, self.kl_sum / self.kl_tokens) if self.kl_tokens else None,
            "clipFrac": self.clipped / r if self.ratio_tokens else 0.0,
            "ratioMean": self.ratio_sum / r if self.ratio_tokens else 1.0,
            "ratioTokens": int(self.ratio_tokens),
            "klRollout": max(0.0, self.old_kl_sum / r) if self.ratio_tokens else None,
        }


def policy_loss(
    logp: torch.Tensor,
    old_logp: torch.Tensor,
    has_old: torch.Tensor,
    advantages: torch.Tensor,
    mask: torch.Tensor,
    ref_logp: Optional[torch.Tensor] = None,
    clip_eps: float = 0.2,
    clip_eps_high: Optional[float] = None,
    kl_coef: float = 0.0,
    norm_tokens: Optional[float] = None,
):
    """Returns (loss, LossStats). All inputs (B, T); advantages may be (B, 1). Masked tokens contribute nothing."""
    mask_b = mask > 0
    maskf = mask_b.to(logp.dtype)
    adv = advantages.to(logp.dtype).expand_as(logp)
    has = (has_old > 0) & mask_b
    old = torch.where(has, old_logp.to(logp.dtype), logp.detach())
    log_ratio = (logp - old).clamp(-MAX_LOG_RATIO, MAX_LOG_RATIO)
    ratio = torch.exp(log_ratio)
    hi = clip_eps if clip_eps_high is None else clip_eps_high
    surr1 = ratio * adv
    surr2 = ratio.clamp(1.0 - clip_eps, 1.0 + hi) * adv
    pg = -torch.min(surr1, surr2)
    per_tok = pg
    kl = None
    if ref_logp is not None and kl_coef > 0:
        d = (ref_logp.to(logp.dtype) - logp).clamp(-MAX_LOG_RATIO, MAX_LOG_RATIO)
        kl = torch.exp(d) - d - 1.0
        per_tok = per_tok + kl_coef * kl
    zeros = torch.zeros_like(per_tok)
    total = torch.where(mask_b, per_tok, zeros).sum()
    n = float(norm_tokens) if norm_tokens else float(maskf.sum().clamp(min=1.0).item())
    loss = total / n
    with torch.no_grad():
        clipped = (surr2 < surr1) & has
        lr_old = -log_ratio  # log(old/new)
        st = LossStats(
            tokens=float(maskf.sum().item()),
            pg_sum=float(torch.where(mask_b, pg, zeros).sum().item()),
            kl_sum=float(torch.where(mask_b, kl, zeros).sum().item()) if kl is not None else 0.0,
            kl_tokens=float(maskf.sum().item()) if kl is not None else 0.0,
            ratio_tokens=float(has.sum().item()),
            clipped=float(clipped.sum().item()),
            ratio_sum=float(torch.where(has, ratio, zeros).sum().item()),
            old_kl_sum=float(torch.where(has, torch.exp(lr_old) - lr_old - 1.0, zeros).sum().item()),
        )
    return loss, st
