"""Padded tensors for a list of training sequences, and the reference log-probs of the KL penalty."""

from __future__ import annotations

from typing import Any, List, Optional

import torch

from . import objective
from .deps import OutOfMemory
from .oom import is_oom, oom_message
from .update_state import UpdateState


class Batches:
    """Collates sequences (by index) into right-padded tensors on the update's device."""

    def __init__(self, st: UpdateState):
        self.seqs = st.seqs
        self.seq_adv = [st.adv.advantages[s.record] for s in st.seqs]
        pad_id = getattr(st.pol.tokenizer, "pad_token_id", None)
        self.pad_id = pad_id if isinstance(pad_id, int) else 0
        self.device = st.device

    def collate(self, idxs: List[int], ref: Optional[List[Any]] = None):
        """[ids, attention, loss mask, rollout log-probs, has rollout, advantages, reference log-probs or None, temperatures]."""
        seqs = self.seqs
        T = max(len(seqs[i]) for i in idxs)
        B = len(idxs)
        ids = torch.full((B, T), self.pad_id, dtype=torch.long)
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
            advs[row, 0] = self.seq_adv[i]
            temp[row] = s.temperature
            if refl is not None:
                refl[row, :n] = ref[i]
        out = [ids, attn, mask, old, has, advs, refl, temp]
        return [t.to(self.device, non_blocking=True) if t is not None else None for t in out]


def reference_logprobs(st: UpdateState, batches: Batches) -> Optional[List[Any]]:
    """Reference log-probs for the KL penalty (--kl-coef > 0), computed once before the first step, so no
    second model stays in memory: the policy as loaded, or --ref-model."""
    a, em, seqs, device = st.a, st.em, st.seqs, st.device
    if not (a.kl_coef > 0 and seqs and st.steps):
        return None
    ref_pol = st.pol
    if a.ref_model:
        from .modeling import load_policy

        ref_pol = load_policy(a.ref_model, device, st.dtype, a.backend, em.warn)
    em.log(f"computing reference log-probs for the KL penalty ({'--ref-model ' + a.ref_model if a.ref_model else 'the policy as loaded'})")
    ref_lp: List[Any] = [None] * len(seqs)
    ref_pol.model.eval()
    with torch.no_grad():
        for s0 in range(0, len(seqs), a.batch_size):
            idxs = list(range(s0, min(len(seqs), s0 + a.batch_size)))
            ids, attn, *_rest, temp = batches.collate(idxs)
            try:
                with st.amp():
                    lp = objective.sequence_logprobs(ref_pol.model, ids, attn, fused=not a.no_fused_logprobs,
                                                     temperature=temp).float().cpu()
            except Exception as err:
                if is_oom(err):
                    longest = max(len(seqs[i]) for i in idxs)
                    raise OutOfMemory(oom_message(a, st.dev_name, "while computing reference log-probs", longest)) from None
                raise
            for row, i in enumerate(idxs):
                ref_lp[i] = lp[row, : len(seqs[i])]
    if ref_pol is not st.pol:
        del ref_pol
        if device.type == "cuda":
            torch.cuda.empty_cache()
    return ref_lp
