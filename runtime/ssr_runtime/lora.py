"""A small built-in LoRA for when `peft` is not installed.

Wraps the model's `torch.nn.Linear` projections named in `targets` (by default
the attention and MLP projections) with a frozen base weight plus a trainable
low-rank update, `y = W x + b + (alpha / r) * B (A x)` with A (r x in, Kaiming
uniform) and B (out x r, zeros), so the wrapped model starts out exactly equal
to the base model (as peft does).

Adapters are saved in peft's on-disk layout, so vLLM loads them like any
peft adapter (`--lora-modules`, or `POST /v1/load_lora_adapter`):

    adapter_config.json   {"peft_type": "LORA", "r", "lora_alpha", "target_modules", ...}
    adapter_model.bin     {"base_model.model.<module path>.lora_A.weight": (r, in),
                           "base_model.model.<module path>.lora_B.weight": (out, r)}

`merge(model)` folds the updates into the base weights and removes the
wrappers (the full model the `onnx` policy and the next update load).
"""

from __future__ import annotations

import json
import math
import os
from typing import Any, Dict, List, Optional

import torch
from torch import nn


class LoraLinear(nn.Module):
    def __init__(self, base: nn.Linear, r: int, alpha: int, dropout: float):
        super().__init__()
        self.base = base
        for p in self.base.parameters():
            p.requires_grad_(False)
        self.r = r
        self.scale = alpha / r
        self.lora_A = nn.Linear(base.in_features, r, bias=False)
        self.lora_B = nn.Linear(r, base.out_features, bias=False)
        nn.init.kaiming_uniform_(self.lora_A.weight, a=math.sqrt(5))
        nn.init.zeros_(self.lora_B.weight)
        self.lora_A.to(device=base.weight.device, dtype=torch.float32)
        self.lora_B.to(device=base.weight.device, dtype=torch.float32)
        self.drop = nn.Dropout(dropout) if dropout > 0 else nn.Identity()

    @property
    def weight(self) -> torch.Tensor:  # code that reads .weight (e.g. dtype checks) sees the base weight
        return self.base.weight

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.base(x)
        upd = self.lora_B(self.lora_A(self.drop(x).to(self.lora_A.weight.dtype))) * self.scale
        return out + upd.to(out.dtype)

    def merged(self) -> nn.Linear:
        with torch.no_grad():
            w = self.base.weight.float() + self.scale * (self.lora_B.weight.float() @ self.lora_A.weight.float())
            self.base.weight.copy_(w.to(self.base.weight.dtype))
        return self.base


def _parent(model: nn.Module, name: str):
    parts = name.split(".")
    mod = model
    for p in parts[:-1]:
        mod = getattr(mod, p)
    return mod, parts[-1]


def apply(model: nn.Module, r: int, alpha: int, dropout: float, targets: List[str]) -> List[str]:
    """Wraps the matching Linear layers in place; freezes every other parameter. Returns the wrapped names."""
    names = [n for n, m in model.named_modules() if isinstance(m, nn.Linear) and n.rsplit(".", 1)[-1] in targets]
    for p in model.parameters():
        p.requires_grad_(False)
    for n in names:
        parent, leaf = _parent(model, n)
        setattr(parent, leaf, LoraLinear(getattr(parent, leaf), r, alpha, dropout))
    model._ssr_lora = {"r": r, "alpha": alpha, "dropout": dropout, "targets": sorted({n.rsplit('.', 1)[-1] for n in names})}
    return names


def is_applied(model: Any) -> bool:
    return hasattr(model, "_ssr_lora")


def adapter_state(model: nn.Module) -> Dict[str, torch.Tensor]:
    out: Dict[str, torch.Tensor] = {}
    for n, m in model.named_modules():
        if isinstance(m, LoraLinear):
            out[f"base_model.model.{n}.lora_A.weight"] = m.lora_A.weight.detach().cpu().contiguous()
            out[f"base_model.model.{n}.lora_B.weight"] = m.lora_B.weight.detach().cpu().contiguous()
    return out


def save_adapter(model: nn.Module, folder: str, base_model: Optional[str] = None) -> None:
    cfg = model._ssr_lora
    os.makedirs(folder, exist_ok=True)
    torch.save(adapter_state(model), os.path.join(folder, "adapter_model.bin"))
    with open(os.path.join(folder, "adapter_config.json"), "w", encoding="utf-8") as f:
        json.dump({
            "peft_type": "LORA", "task_type": "CAUSAL_LM", "r": cfg["r"], "lora_alpha": cfg["alpha"],
            "lora_dropout": cfg["dropout"], "target_modules": cfg["targets"], "bias": "none", "fan_in_fan_out": False,
            "base_model_name_or_path": base_model, "inference_mode": True, "modules_to_save": None,
            "ssr_builtin_lora": True,
        }, f, indent=2)


def merge(model: nn.Module) -> nn.Module:
    for n, m in list(model.named_modules()):
        if isinstance(m, LoraLinear):
            parent, leaf = _parent(model, n)
            setattr(parent, leaf, m.merged())
    for p in model.parameters():
        p.requires_grad_(True)
    if hasattr(model, "_ssr_lora"):
        del model._ssr_lora
    return model
