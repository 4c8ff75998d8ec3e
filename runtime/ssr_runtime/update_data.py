"""The update's data: the records it reads, their advantages, the sequences it trains on, its plan.

read_inputs runs first (a corrupt file fails before minutes of model loading);
make_sequences and plan_and_start run once the policy (its tokenizer) is loaded.
"""

from __future__ import annotations

import math
import os

from .advantages import group_advantages
from .data import build_sequences, count_lines, read_records, trajectories_path
from .update_state import UpdateState

ROLE_ORDER = ("solver", "injector")


def read_inputs(st: UpdateState) -> None:
    """Records up to the data cursor, the window after --from-line, off-policy ones, group advantages."""
    a, em = st.a, st.em
    # The data cursor (lines of trajectories.jsonl this update reads) is fixed at the start, and a
    # resumed update reads exactly the lines it started with.
    cursor = int(st.resume["cursor"]) if st.resume else count_lines(a.run)
    records = read_records(a.run, skip_bad_lines=a.skip_bad_lines, warn=em.warn, max_lines=cursor or None)
    window = [r.line > a.from_line for r in records]
    other_version = [
        a.policy_step is not None and r.version_step is not None and r.version_step != a.policy_step for r in records
    ]
    include = [w and not (o and a.off_policy == "refuse") for w, o in zip(window, other_version)]
    off_policy = {role: sum(1 for r, w, o in zip(records, window, other_version) if w and o and r.role == role) for role in ROLE_ORDER}
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
    st.adv = group_advantages([r.group for r in records], [r.reward for r in records], [r.role for r in records],
                              std_norm=a.adv_norm == "std", include=include)
    st.cursor, st.records, st.window, st.off_policy = cursor, records, window, off_policy


def make_sequences(st: UpdateState) -> None:
    """Sequences from the policy's own tokens (only groups with reward variance), with what was done to them said."""
    a, em, adv, records, max_len = st.a, st.em, st.adv, st.records, st.max_len
    seqs, bstats = build_sequences(records, st.pol.tokenizer, max_len, st.pol.vocab_size, include=lambda i: adv.trainable[i],
                                   warn=em.warn, source=trajectories_path(a.run))
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
    if st.zero_var:
        em.log(f"{st.zero_var} of {adv.n_groups} groups have no reward variance (all attempts scored the same): skipped, they carry no signal")
    st.seqs, st.bstats = seqs, bstats


def plan_and_start(st: UpdateState) -> None:
    """The number of steps and the per-role counts, announced in the `start` event."""
    a, adv, seqs = st.a, st.adv, st.seqs
    per_step = a.batch_size * a.grad_accum
    steps = a.steps if a.steps is not None else (math.ceil(len(seqs) / per_step) if seqs else 0)
    if st.resume and st.resume.get("steps") is not None and seqs:
        steps = int(st.resume["steps"])
    if not seqs:
        st.em.warn(f"nothing to learn: no trajectory is in a group with reward variance ({st.zero_var} of {adv.n_groups} groups have none); "
                   "the model is written out unchanged")
        steps = 0
    st.steps = steps
    total_params, trainable_params = st.pol.params()
    st.total_params = total_params
    by_role = adv.by_role()
    for role in ROLE_ORDER:
        rs = [r.reward for r, w in zip(st.records, st.window) if r.role == role and w]
        st.roles[role] = {
            "trajectories": len(rs), "meanReward": (sum(rs) / len(rs)) if rs else None,
            "zeroVarianceGroups": by_role.get(role, {}).get("zeroVarianceGroups", 0),
            "baselineGroups": by_role.get(role, {}).get("baselineGroups", 0),
            "offPolicy": st.off_policy[role], "used": 0,
        }
    st.em.emit(_start_event(st, trainable_params))


def _start_event(st: UpdateState, trainable_params: int) -> dict:
    import torch

    a, bstats = st.a, st.bstats
    return {
        "type": "start", "run": os.path.abspath(a.run), "model": os.path.abspath(a.model), "outDir": os.path.abspath(a.out),
        "device": str(st.device), "dtype": str(st.dtype).replace("torch.", ""), "backend": st.pol.backend, "lora": st.pol.lora,
        "gradientCheckpointing": bool(st.ckpt), "params": st.total_params, "trainableParams": trainable_params,
        "records": len(st.records), "cursor": st.cursor, "fromLine": a.from_line, "policyStep": a.policy_step,
        "resumedFrom": st.resume["step"] if st.resume else None, "groups": st.adv.n_groups, "zeroVarianceGroups": st.zero_var,
        "groupsByRole": st.adv.by_role(),
        "roles": st.roles, "sequences": len(st.seqs), "lossTokens": bstats.loss_tokens, "retokenisedTurns": bstats.retokenised_turns,
        "turns": bstats.turns, "turnsWithLogprobs": bstats.turns_with_logprobs, "steps": st.steps, "lr": st.lr,
        "batchSize": a.batch_size, "gradAccum": a.grad_accum, "maxLen": st.max_len, "clip": a.clip, "klCoef": a.kl_coef,
        "seed": a.seed, "torch": torch.__version__,
    }
