"""Scores a run's trajectories under a model: how likely the policy finds each recorded completion.

    python3 -m ssr_runtime.score --run RUN_DIR --model MODEL_DIR [--max-len 4096]

Prints one JSON object: {"records": [{"id", "role", "group", "reward", "tokens", "meanLogprob"}, ...]}
where meanLogprob is the mean log-probability of the record's sampled completion tokens (the tokens the
trainer puts in the loss, at the record's temperature). Used by the learning tests: after an update the
rewarded behaviour should be likelier than before, the penalised one less likely.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import List, Optional


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(prog="python3 -m ssr_runtime.score")
    ap.add_argument("--run", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--max-len", type=int, default=4096)
    ap.add_argument("--backend", default="auto", choices=["auto", "hf", "tiny"])
    a = ap.parse_args(argv)
    import torch

    from .data import build_sequences, read_records
    from .modeling import load_policy
    from .objective import sequence_logprobs

    records = read_records(a.run)
    pol = load_policy(a.model, torch.device("cpu"), torch.float32, a.backend, lambda m: print(m, file=sys.stderr))
    seqs, _ = build_sequences(records, pol.tokenizer, a.max_len, pol.vocab_size)
    sums = [0.0] * len(records)
    counts = [0] * len(records)
    pol.model.eval()
    with torch.no_grad():
        for s in seqs:
            ids = torch.tensor([s.input_ids], dtype=torch.long)
            lp = sequence_logprobs(pol.model, ids, torch.ones_like(ids), temperature=torch.tensor([s.temperature]))[0]
            mask = torch.tensor(s.loss_mask, dtype=torch.bool)
            sums[s.record] += float(lp[mask].sum())
            counts[s.record] += int(mask.sum())
    out = [{"id": r.id, "role": r.role, "group": r.group, "reward": r.reward, "tokens": counts[i],
            "meanLogprob": (sums[i] / counts[i]) if counts[i] else None} for i, r in enumerate(records)]
    print(json.dumps({"records": out}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
