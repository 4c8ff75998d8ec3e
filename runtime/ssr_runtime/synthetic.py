"""Synthetic run folders with known rewards, for tests, smoke runs and the TypeScript driver's tests.

    python3 -m ssr_runtime.synthetic --model MODEL_DIR --run RUN_DIR [--solver-groups 3] [--attempts 4]
        [--injector-groups 2] [--zero-variance-groups 1] [--logprobs model|none] [--no-token-ids]

Writes RUN_DIR/trajectories.jsonl in the TrajectoryRecord format
(src/core/base/trajectory.ts). The task is "say a first token":

  solver  (group solve:bug-k):   completions starting with GOOD_SOLVER ('Y') are solved (+1),
                                 with BAD_SOLVER ('N') are not (-1);
  injector (group inject:r):     proposals starting with GOOD_INJECTOR ('C') yield a valid bug with
                                 solve rate 0.25 (reward 1 - 1.8 * 0.25 = 0.55), with BAD_INJECTOR
                                 ('D') a bug nobody solves (reward -alpha = -0.8);
  zero-variance groups:          every attempt solved (+1): no signal, must be skipped.

Each episode has two assistant turns with a tool observation in between, so
sequences have prompt, completion, observation, completion segments.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
from typing import Any, Dict, List, Optional

from .advantages import injector_reward, solver_reward

GOOD_SOLVER, BAD_SOLVER = "Y", "N"
GOOD_INJECTOR, BAD_INJECTOR = "C", "D"
SYSTEM = "You are a helpful software engineer."


def _ids(tok: Any, out: Any) -> List[int]:
    return list(tok.encode(out)) if isinstance(out, str) else [int(x) for x in out]


def first_token(tok: Any, text: str) -> int:
    ids = tok.encode(text)
    if len(ids) != 1:
        raise ValueError(f"{text!r} is not a single token for this tokenizer: {ids}")
    return int(ids[0])


def solver_prompt(k: int) -> List[Dict[str, str]]:
    return [{"role": "system", "content": SYSTEM},
            {"role": "user", "content": f"Fix bug {k}. Answer Y or N."}]


def injector_prompt(r: int) -> List[Dict[str, str]]:
    return [{"role": "system", "content": SYSTEM},
            {"role": "user", "content": f"Round {r}: inject a bug. Answer C or D."}]


class _Sampler:
    """Computes rollout log-probs with a model, as an inference server would report them."""

    def __init__(self, model: Any):
        self.model = model

    def logprobs(self, prompt: List[int], completion: List[int]) -> List[float]:
        import torch

        ids = torch.tensor([prompt + completion], dtype=torch.long)
        with torch.no_grad():
            logits = self.model(ids).logits[0].float()
        lp = torch.log_softmax(logits, dim=-1)
        out = []
        for j, t in enumerate(completion):
            out.append(float(lp[len(prompt) + j - 1, t]))
        return out


def _episode(tok: Any, base: List[Dict[str, str]], first: str, k: int, sampler: Optional[_Sampler], token_ids: bool) -> Dict[str, Any]:
    """Messages + per-turn tokens of a two-turn episode whose first completion starts with `first`."""
    msgs = [dict(m) for m in base]
    tokens: List[Dict[str, Any]] = []
    eos = tok.eos_token_id
    contents = [f"{first} <tool: bash>\nls\n</tool>", f"{first} <tool: submit>\n</tool>"]
    observation = f"src/\ntests/\nfile_{k}.py"
    for turn, content in enumerate(contents):
        prompt = _ids(tok, tok.apply_chat_template(msgs, add_generation_prompt=True))
        comp = list(tok.encode(content)) + ([eos] if isinstance(eos, int) else [])
        msgs.append({"role": "assistant", "content": content})
        entry: Dict[str, Any] = {"messageIndex": len(msgs) - 1}
        if token_ids:
            entry["tokenIds"] = comp
            entry["promptTokenIds"] = prompt
            if sampler is not None:
                entry["logprobs"] = sampler.logprobs(prompt, comp)
        entry["usage"] = {"promptTokens": len(prompt), "completionTokens": len(comp)}
        tokens.append(entry)
        if turn == 0:
            msgs.append({"role": "tool", "content": observation})
    return {"messages": msgs, "tokens": tokens}


def make_records(tok: Any, model: Any = None, solver_groups: int = 3, attempts: int = 4, injector_groups: int = 2,
                 zero_variance_groups: int = 1, logprobs: bool = True, token_ids: bool = True, seed: int = 0) -> List[Dict[str, Any]]:
    for t in (GOOD_SOLVER, BAD_SOLVER, GOOD_INJECTOR, BAD_INJECTOR):
        first_token(tok, t)
    rng = random.Random(seed)
    sampler = _Sampler(model) if (logprobs and model is not None and token_ids) else None
    policy = {"kind": "onnx", "model": "synthetic"}
    recs: List[Dict[str, Any]] = []
    half = max(1, attempts // 2)
    for k in range(solver_groups):
        firsts = [GOOD_SOLVER] * half + [BAD_SOLVER] * (attempts - half)
        rng.shuffle(firsts)
        for a, f in enumerate(firsts):
            ep = _episode(tok, solver_prompt(k), f, k, sampler, token_ids)
            recs.append({"id": f"solve-{k}-{a}", "role": "solver", "group": f"solve:bug-{k}", "bugId": f"bug-{k}",
                         "attempt": a, "reward": solver_reward(f == GOOD_SOLVER), "path": f"episodes/solve-{k}-{a}.json",
                         "policy": policy, **ep})
    for r in range(injector_groups):
        firsts = [GOOD_INJECTOR] * half + [BAD_INJECTOR] * (attempts - half)
        rng.shuffle(firsts)
        for a, f in enumerate(firsts):
            ep = _episode(tok, injector_prompt(r), f, 100 + r, sampler, token_ids)
            rew = injector_reward(True, 0.25) if f == GOOD_INJECTOR else injector_reward(True, 0.0)
            recs.append({"id": f"inject-{r}-{a}", "role": "injector", "group": f"inject:{r}", "round": r,
                         "reward": rew, "path": f"episodes/inject-{r}-{a}.json", "policy": policy, **ep})
    for z in range(zero_variance_groups):
        k = 1000 + z
        for a in range(attempts):
            ep = _episode(tok, solver_prompt(k), GOOD_SOLVER, k, sampler, token_ids)
            recs.append({"id": f"solve-{k}-{a}", "role": "solver", "group": f"solve:bug-{k}", "bugId": f"bug-{k}",
                         "attempt": a, "reward": 1.0, "path": f"episodes/solve-{k}-{a}.json", "policy": policy, **ep})
    return recs


def write_run(run_dir: str, records: List[Dict[str, Any]]) -> str:
    os.makedirs(run_dir, exist_ok=True)
    path = os.path.join(run_dir, "trajectories.jsonl")
    with open(path, "w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r) + "\n")
    return path


def first_token_probs(model: Any, tok: Any, prompts: List[List[Dict[str, str]]], tokens: List[str]) -> Dict[str, float]:
    """Mean probability, over the prompts, that the first completion token is each of `tokens`."""
    import torch

    ids = {t: first_token(tok, t) for t in tokens}
    sums = {t: 0.0 for t in tokens}
    was = model.training
    model.eval()
    with torch.no_grad():
        for p in prompts:
            prompt = _ids(tok, tok.apply_chat_template(p, add_generation_prompt=True))
            x = torch.tensor([prompt], dtype=torch.long, device=next(model.parameters()).device)
            probs = torch.softmax(model(x).logits[0, -1].float(), dim=-1)
            for t in tokens:
                sums[t] += float(probs[ids[t]])
    model.train(was)
    return {t: sums[t] / len(prompts) for t in tokens}


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(prog="python3 -m ssr_runtime.synthetic", description="Write a synthetic run folder with known rewards.")
    ap.add_argument("--model", required=True)
    ap.add_argument("--run", required=True)
    ap.add_argument("--solver-groups", type=int, default=3)
    ap.add_argument("--attempts", type=int, default=4)
    ap.add_argument("--injector-groups", type=int, default=2)
    ap.add_argument("--zero-variance-groups", type=int, default=1)
    ap.add_argument("--logprobs", default="model", choices=["model", "none"])
    ap.add_argument("--no-token-ids", action="store_true", help="leave token ids out (the trainer then re-tokenises)")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)
    from .tiny_model import load_model

    model, tok = load_model(a.model)
    recs = make_records(tok, model, a.solver_groups, a.attempts, a.injector_groups, a.zero_variance_groups,
                        logprobs=a.logprobs == "model", token_ids=not a.no_token_ids, seed=a.seed)
    path = write_run(a.run, recs)
    print(json.dumps({"path": path, "records": len(recs)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
