"""The update's device and policy: which device, which dtype, the model loaded, LoRA, checkpointing, lr, max length."""

from __future__ import annotations

import torch

from .deps import BadInput, DeviceError, OutOfMemory
from .modeling import apply_lora, enable_checkpointing, load_adapter_weights, load_policy, resolve_dtype
from .oom import is_oom, oom_message
from .update_state import UpdateState


def choose_device(st: UpdateState) -> None:
    """--device auto|cpu|cuda|cuda:N as a torch.device; CUDA asked for but missing is a DeviceError."""
    a = st.a
    dev_name = a.device
    if dev_name == "auto":
        dev_name = "cuda" if torch.cuda.is_available() else "cpu"
    if dev_name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise DeviceError(
                f"--device {a.device} was asked for but CUDA is not available to PyTorch {torch.__version__} "
                f"({'a CPU-only build' if not torch.version.cuda else 'built for CUDA ' + torch.version.cuda + '; no usable GPU or driver (check nvidia-smi)'}). "
                "Use --device cpu, or install a CUDA build of PyTorch."
            )
        try:
            device = torch.device(dev_name)
            torch.cuda.get_device_properties(device)
        except Exception as err:  # noqa: BLE001
            raise DeviceError(f"--device {dev_name}: {err}") from None
    elif dev_name == "cpu":
        device = torch.device("cpu")
    else:
        raise BadInput(f"--device must be cpu, cuda, cuda:N or auto, got {a.device!r}")
    st.device, st.dev_name = device, dev_name


def load(st: UpdateState) -> None:
    """The policy on its device, with LoRA (and its starting adapter), the learning rate, checkpointing, max length."""
    a, em, device = st.a, st.em, st.device
    st.dtype = dtype = resolve_dtype(a.dtype, device, em.warn)
    st.autocast = device.type == "cuda" and dtype == torch.bfloat16
    try:
        pol = load_policy(a.model, device, dtype, a.backend, em.warn)
    except Exception as err:
        if is_oom(err):
            raise OutOfMemory(oom_message(a, st.dev_name, "while loading the model", 0)) from None
        raise
    if a.lora:
        targets = [t.strip() for t in a.lora_targets.split(",")] if a.lora_targets else None
        apply_lora(pol, a.lora_r, a.lora_alpha, a.lora_dropout, targets, em.warn)
    if a.init_adapter:
        if not pol.lora:
            raise BadInput("--init-adapter needs --lora (and LoRA applied to this model)")
        n = load_adapter_weights(pol, a.init_adapter)
        em.log(f"LoRA starts from {a.init_adapter} ({n} tensors)")
    # The default learning rate follows what is actually trained: LoRA may have fallen back to full
    # fine-tuning (no peft, or it could not be applied), and full fine-tuning at LoRA's 2e-5 diverges.
    st.lr = a.lr if a.lr is not None else (2e-5 if pol.lora else 1e-6)
    if a.lora and not pol.lora and a.lr is None:
        em.warn(f"--lora fell back to full fine-tuning: default learning rate {st.lr:g} (full fine-tuning's), not LoRA's 2e-5")
    ckpt = a.grad_checkpointing == "on" or (a.grad_checkpointing == "auto" and device.type == "cuda")
    if ckpt:
        ckpt = enable_checkpointing(pol.model, em.warn)
    st.pol, st.ckpt, st.max_len = pol, ckpt, _max_len(st, pol)


def _max_len(st: UpdateState, pol) -> int:
    """--max-len (default 4096), at most the model's positions."""
    a = st.a
    max_pos = getattr(getattr(pol.model, "config", None), "max_position_embeddings", None)
    max_len = a.max_len if a.max_len is not None else 4096
    if isinstance(max_pos, int) and 0 < max_pos < max_len:
        if a.max_len is not None:
            st.em.log(f"--max-len {max_len} is above the model's {max_pos} positions; using {max_pos}")
        max_len = max_pos
    return max_len
