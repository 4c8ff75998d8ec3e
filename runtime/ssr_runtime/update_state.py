"""What one policy update knows as it goes: the arguments, the data, the device, the policy, the plan.

train.py runs the stages in order (update_data: records and advantages;
update_model: device and policy; update_data: sequences and the `start`
event; update_steps: the optimizer steps; update_export: the outputs and the
`done` event); each fills in its part of this state.
"""

from __future__ import annotations

import argparse
import contextlib
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from .events import Emitter


@dataclass
class UpdateState:
    a: argparse.Namespace
    em: Emitter
    t_start: float
    resume: Optional[Dict[str, Any]] = None
    # update_data.read_inputs: the records (lines 1..cursor), which are in the window, advantages
    cursor: int = 0
    records: List[Any] = field(default_factory=list)
    window: List[bool] = field(default_factory=list)
    off_policy: Dict[str, int] = field(default_factory=dict)
    adv: Any = None
    # update_model: device and policy
    device: Any = None
    dev_name: str = ""
    dtype: Any = None
    autocast: bool = False
    pol: Any = None
    lr: float = 0.0
    ckpt: bool = False
    max_len: int = 0
    # update_data.make_sequences / plan: what is trained, how many steps
    seqs: List[Any] = field(default_factory=list)
    bstats: Any = None
    steps: int = 0
    roles: Dict[str, Dict[str, Any]] = field(default_factory=dict)
    total_params: int = 0
    # update_steps: what the steps produced
    first_step: int = 1
    last: Optional[Dict[str, Any]] = None
    used_records: set = field(default_factory=set)
    checkpoints: List[str] = field(default_factory=list)
    totals: Dict[str, Any] = field(default_factory=dict)

    @property
    def zero_var(self) -> int:
        return self.adv.zero_variance_groups

    def amp(self):
        """bf16 autocast on CUDA with bf16 weights; nothing otherwise."""
        if self.autocast:
            import torch

            return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()
