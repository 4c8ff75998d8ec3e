"""The order in which an update visits its training sequences: a fresh random permutation every epoch.

Its state (RNG and the rest of the current epoch) goes into each checkpoint,
so a resumed update continues with the same batches.
"""

from __future__ import annotations

import random
from typing import Any, Dict, List


class Sampler:
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
