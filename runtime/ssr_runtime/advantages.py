"""Group-relative (GRPO-style) advantages.

The N solver attempts on one bug share a group (`solve:<bugId>`), the injector
proposals of one round share another (`inject:<round>`). Within a group

    A_i = (r_i - mean(r)) / (std(r) + eps)      (population std; `std_norm=False` gives r_i - mean)

A group whose rewards do not vary (including a group of one) carries no
learning signal: its advantages are all zero, it is skipped and counted.

Roles in `baseline_roles` (the injector by default) get a second chance: a
group of one, or one whose rewards do not vary, is scored against the
**run baseline** of its role: the mean of that role's rewards in the other
groups of the file (leave-group-out, so a proposal's own reward never enters
its baseline), scaled by the std of all the role's rewards in the file:

    A_i = (r_i - mean_others(r)) / (std_role(r) + eps)

This needs at least one reward of the role outside the group and some
variance among the role's rewards.
Such groups are counted as `baselineGroups`, not as zero-variance groups.
See runtime/README.md ("Injector groups") for why.

Also the paper's reward functions, for reference and for synthetic data.
Pure Python.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

ZERO_VAR_TOL = 1e-8


@dataclass
class GroupInfo:
    name: str
    role: str
    size: int
    mean: float
    std: float
    skipped: bool
    baseline: bool = False  # scored against the run baseline of its role (see the module doc)


@dataclass
class AdvantageResult:
    advantages: List[float]  # one per record, 0.0 for records in skipped groups
    trainable: List[bool]  # record belongs to a group with reward variance
    groups: Dict[str, GroupInfo] = field(default_factory=dict)

    @property
    def n_groups(self) -> int:
        return len(self.groups)

    @property
    def zero_variance_groups(self) -> int:
        return sum(1 for g in self.groups.values() if g.skipped)

    def by_role(self) -> Dict[str, Dict[str, int]]:
        out: Dict[str, Dict[str, int]] = {}
        for g in self.groups.values():
            d = out.setdefault(g.role, {"groups": 0, "zeroVarianceGroups": 0, "baselineGroups": 0})
            d["groups"] += 1
            d["zeroVarianceGroups"] += int(g.skipped)
            d["baselineGroups"] += int(g.baseline)
        return out


def group_advantages(
    groups: Sequence[str],
    rewards: Sequence[float],
    roles: Sequence[str] = (),
    std_norm: bool = True,
    eps: float = 1e-6,
    baseline_roles: Sequence[str] = ("injector",),
    include: Optional[Sequence[bool]] = None,
) -> AdvantageResult:
    """`include[i]` False: record i gets no advantage (e.g. sampled by another policy version) but its
    reward still counts in the run baseline of its role."""
    if len(groups) != len(rewards):
        raise ValueError("groups and rewards differ in length")
    members: Dict[str, List[int]] = {}
    for i, g in enumerate(groups):
        if include is not None and not include[i]:
            continue
        members.setdefault(g, []).append(i)
    adv = [0.0] * len(rewards)
    trainable = [False] * len(rewards)
    info: Dict[str, GroupInfo] = {}
    for g, idx in members.items():
        rs = [float(rewards[i]) for i in idx]
        mean = sum(rs) / len(rs)
        std = math.sqrt(sum((r - mean) ** 2 for r in rs) / len(rs))
        skipped = len(rs) < 2 or std <= ZERO_VAR_TOL
        role = roles[idx[0]] if roles else ""
        info[g] = GroupInfo(name=g, role=role, size=len(rs), mean=mean, std=std, skipped=skipped)
        if skipped and roles and role in baseline_roles:
            mine = set(idx)
            others = [float(rewards[j]) for j in range(len(rewards)) if j not in mine and roles[j] == role]
            if others:
                b = sum(others) / len(others)
                pool = others + rs
                pm = sum(pool) / len(pool)
                bs = math.sqrt(sum((x - pm) ** 2 for x in pool) / len(pool))
                if bs > ZERO_VAR_TOL and any(abs(r - b) > ZERO_VAR_TOL for r in rs):
                    info[g].skipped = False
                    info[g].baseline = True
                    for i, r in zip(idx, rs):
                        adv[i] = (r - b) / (bs + eps) if std_norm else (r - b)
                        trainable[i] = True
                    continue
        if skipped:
            continue
        for i, r in zip(idx, rs):
            adv[i] = (r - mean) / (std + eps) if std_norm else (r - mean)
            trainable[i] = True
    return AdvantageResult(advantages=adv, trainable=trainable, groups=info)


# The paper's rewards (SSR, arXiv 2512.18552), alpha = 0.8 by default.

def solver_reward(solved: bool) -> float:
    return 1.0 if solved else -1.0


def injector_reward(valid: bool, solve_rate: float, alpha: float = 0.8) -> float:
    """-1 for an invalid bug artifact; -alpha if every or no solver attempt succeeds; else 1 - (1 + alpha) * s."""
    if not valid:
        return -1.0
    if solve_rate <= 0.0 or solve_rate >= 1.0:
        return -alpha
    return 1.0 - (1.0 + alpha) * solve_rate
