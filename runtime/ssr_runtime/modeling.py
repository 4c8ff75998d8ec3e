"""Loading the policy: backends, dtype, LoRA (and a saved adapter), activation checkpointing.

Backends:
  hf    Hugging Face `transformers` (AutoModelForCausalLM + AutoTokenizer), any causal LM it knows.
  tiny  ssr_runtime.tiny_model: plain-PyTorch Llama, no transformers needed (CI, smoke runs).
`auto` uses transformers when it is installed and falls back to tiny_model for
Llama folders; without transformers only Llama-architecture folders load.

LoRA goes through `peft` when installed; without it the built-in LoRA
(lora.py) is used, and `--lora` falls back to full fine-tuning (with a warning)
when no layer matches. Saving the policy is saving.py.
"""

from __future__ import annotations

import json
import os
import types
from dataclasses import dataclass, field
from typing import Any, Callable, List, Optional

import torch
from torch.utils.checkpoint import checkpoint

from .deps import BadInput, ModelLoadError, has_module

LORA_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]

Warn = Callable[[str], None]


@dataclass
class Policy:
    model: Any
    tokenizer: Any
    backend: str  # 'hf' | 'tiny'
    folder: str
    device: torch.device
    dtype: torch.dtype
    lora: bool = False
    vocab_size: Optional[int] = None
    notes: List[str] = field(default_factory=list)

    def params(self) -> tuple:
        total = sum(p.numel() for p in self.model.parameters())
        trainable = sum(p.numel() for p in self.model.parameters() if p.requires_grad)
        return total, trainable


def resolve_dtype(name: str, device: torch.device, warn: Warn) -> torch.dtype:
    if name == "fp32":
        return torch.float32
    if name == "bf16" or (name == "auto" and device.type == "cuda"):
        if device.type == "cuda":
            try:
                ok = torch.cuda.is_bf16_supported()
            except Exception:  # noqa: BLE001
                ok = False
            if not ok:
                warn("this GPU does not support bfloat16; training in float32 (more memory: consider --lora)")
                return torch.float32
        return torch.bfloat16
    return torch.float32


def _read_config(folder: str) -> dict:
    if not os.path.isdir(folder):
        raise ModelLoadError(f"model folder {folder} does not exist (or is not a folder)")
    path = os.path.join(folder, "config.json")
    if not os.path.exists(path):
        raise ModelLoadError(f"model folder {folder} does not load: no config.json (expected a Hugging Face model folder; build a tiny one with `python3 -m ssr_runtime.tiny_model build DIR`)")
    try:
        with open(path, "r", encoding="utf-8") as f:
            cfg = json.load(f)
    except (OSError, json.JSONDecodeError) as err:
        raise ModelLoadError(f"model folder {folder} does not load: config.json is not valid JSON ({err})") from None
    if not isinstance(cfg, dict):
        raise ModelLoadError(f"model folder {folder} does not load: config.json is not an object")
    return cfg


def _load_tiny(folder: str, device: torch.device, dtype: torch.dtype):
    from . import tiny_model

    model, tok = tiny_model.load_model(folder, device="cpu")
    model = model.to(dtype=dtype).to(device)
    return model, tok


def _version_tuple(v: str) -> tuple:
    out = []
    for part in v.split(".")[:3]:
        digits = "".join(ch for ch in part if ch.isdigit())
        if not digits:
            break
        out.append(int(digits))
    return tuple(out)


def _load_hf(folder: str, device: torch.device, dtype: torch.dtype):
    import transformers
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(folder)
    # `dtype=` replaced `torch_dtype=` in transformers 4.56; older versions would silently
    # store an unknown `dtype` kwarg in the config and load float32.
    key = "dtype" if _version_tuple(transformers.__version__) >= (4, 56) else "torch_dtype"
    model = AutoModelForCausalLM.from_pretrained(folder, low_cpu_mem_usage=True, **{key: dtype})
    model.to(device)
    if tok.pad_token_id is None and tok.eos_token_id is not None:
        tok.pad_token = tok.eos_token
    try:
        model.config.use_cache = False
    except Exception:  # noqa: BLE001
        pass
    return model, tok


def load_policy(folder: str, device: torch.device, dtype: torch.dtype, backend: str, warn: Warn) -> Policy:
    cfg = _read_config(folder)
    mtype = cfg.get("model_type")
    has_tf = has_module("transformers")
    if backend == "auto":
        backend = "hf" if has_tf else "tiny"
    if backend == "hf" and not has_tf:
        raise ModelLoadError("--backend hf needs transformers: pip install transformers (or use --backend tiny for Llama folders)")
    errors = []
    order = [backend] + (["tiny"] if backend == "hf" and mtype == "llama" else [])
    for b in order:
        try:
            model, tok = (_load_hf if b == "hf" else _load_tiny)(folder, device, dtype)
            vocab = _vocab_size(model, cfg)
            if errors:
                warn(f"loaded {folder} with the {b} backend after: {errors[0]}")
            return Policy(model=model, tokenizer=tok, backend=b, folder=folder, device=device, dtype=dtype, vocab_size=vocab)
        except torch.cuda.OutOfMemoryError:
            raise
        except Exception as err:  # noqa: BLE001 - every loader failure becomes one clear message
            errors.append(f"{b}: {type(err).__name__}: {err}")
    hint = ""
    if not has_tf and mtype != "llama":
        hint = f" This folder's model_type is {mtype!r}; without transformers only Llama-architecture folders load: pip install transformers."
    raise ModelLoadError(f"model folder {folder} does not load ({'; '.join(errors)}).{hint}")


def _vocab_size(model: Any, cfg: dict) -> Optional[int]:
    try:
        emb = model.get_input_embeddings()
        return int(emb.weight.shape[0])
    except Exception:  # noqa: BLE001
        pass
    try:
        return int(model.model.embed_tokens.weight.shape[0])
    except Exception:  # noqa: BLE001
        v = cfg.get("vocab_size")
        return int(v) if isinstance(v, int) else None


def apply_lora(pol: Policy, r: int, alpha: int, dropout: float, targets: Optional[List[str]], warn: Warn) -> None:
    if not has_module("peft"):
        from . import lora as builtin

        names = builtin.apply(pol.model, r, alpha, dropout, targets or LORA_TARGETS)
        if not names:
            builtin.merge(pol.model)
            warn(f"--lora: no Linear layer named {targets or LORA_TARGETS} in this model: full fine-tuning instead")
            return
        pol.lora = True
        pol.notes.append(f"LoRA: peft is not installed; the built-in LoRA wraps {len(names)} layers (adapter saved in peft's layout)")
        return
    try:
        from peft import LoraConfig, get_peft_model

        names = {n.rsplit(".", 1)[-1] for n, m in pol.model.named_modules() if isinstance(m, torch.nn.Linear)}
        tmods = targets or [t for t in LORA_TARGETS if t in names] or "all-linear"
        cfg = LoraConfig(r=r, lora_alpha=alpha, lora_dropout=dropout, target_modules=tmods, bias="none", task_type="CAUSAL_LM")
        model = get_peft_model(pol.model, cfg)
        # LoRA weights in float32 (the frozen base stays bf16); autocast mixes them.
        for n, p in model.named_parameters():
            if p.requires_grad and p.dtype != torch.float32:
                p.data = p.data.float()
        pol.model = model
        pol.lora = True
    except Exception as err:  # noqa: BLE001
        warn(f"LoRA could not be applied ({type(err).__name__}: {err}): full fine-tuning instead")


def enable_checkpointing(model: Any, warn: Warn) -> bool:
    """Activation checkpointing: transformers' own when available, else wrap each decoder layer."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    if hasattr(base, "gradient_checkpointing_enable"):
        try:
            try:
                base.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
            except TypeError:
                base.gradient_checkpointing_enable()
                if hasattr(base, "enable_input_require_grads"):
                    base.enable_input_require_grads()  # reentrant checkpointing + frozen embeddings (LoRA)
            return True
        except Exception as err:  # noqa: BLE001
            warn(f"gradient checkpointing could not be enabled ({err}); continuing without")
            return False
    layers = _find_layers(base)
    if layers is None:
        warn("gradient checkpointing: no decoder layer list found; continuing without")
        return False
    for layer in layers:
        if getattr(layer, "_ssr_ckpt", False):
            continue
        orig = layer.forward

        def fwd(self, *args, _orig=orig, **kwargs):
            if self.training and torch.is_grad_enabled():
                return checkpoint(_orig, *args, use_reentrant=False, **kwargs)
            return _orig(*args, **kwargs)

        layer.forward = types.MethodType(fwd, layer)
        layer._ssr_ckpt = True
    return True


def _find_layers(model: Any):
    for path in ("model.layers", "transformer.h", "gpt_neox.layers", "layers"):
        obj = model
        try:
            for part in path.split("."):
                obj = getattr(obj, part)
        except AttributeError:
            continue
        if isinstance(obj, torch.nn.ModuleList) and len(obj):
            return obj
    return None


def load_adapter_weights(pol: Policy, folder: str) -> int:
    """Loads a saved adapter (peft layout: adapter_model.safetensors or .bin) into the applied LoRA layers."""
    st = os.path.join(folder, "adapter_model.safetensors")
    if os.path.exists(st):
        from safetensors.torch import load_file

        state = load_file(st)
    else:
        state = torch.load(os.path.join(folder, "adapter_model.bin"), map_location="cpu")
    if is_builtin_lora(pol):
        named = dict(pol.model.named_parameters())
        n = 0
        with torch.no_grad():
            for k, v in state.items():
                name = k[len("base_model.model."):] if k.startswith("base_model.model.") else k
                if name not in named:
                    raise ModelLoadError(f"adapter {folder}: {k} does not match this model's LoRA layers")
                named[name].copy_(v.to(named[name].device, dtype=named[name].dtype))
                n += 1
        return n
    from peft import set_peft_model_state_dict

    set_peft_model_state_dict(pol.model, state)
    return len(state)


def is_builtin_lora(pol: Policy) -> bool:
    return hasattr(pol.model, "_ssr_lora")


def check_max_len(max_len: int) -> None:
    if max_len < 2:
        raise BadInput("--max-len must be at least 2")
