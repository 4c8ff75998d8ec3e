"""Dependency checks with messages that say what to install.

Imports nothing heavy at module level: the trainer calls `require_torch()`
before importing any module that needs PyTorch, so that a machine without it
gets one clear sentence instead of a traceback.
"""

from __future__ import annotations

import importlib
import sys
from typing import Optional

# Exit codes shared by the CLIs (documented in runtime/README.md).
EXIT_OK = 0
EXIT_ERROR = 1  # unexpected failure
EXIT_BAD_INPUT = 2  # bad arguments, empty/corrupt trajectories.jsonl
EXIT_MISSING_DEP = 3  # torch (or an explicitly requested optional package) missing
EXIT_OOM = 4  # out of (GPU) memory
EXIT_MODEL = 5  # the model folder does not load
EXIT_DEVICE = 6  # CUDA asked for but not available
EXIT_CANCELLED = 130  # SIGINT / SIGTERM


class RuntimeFailure(Exception):
    """An error with a message meant for the user and an exit code."""

    code = "error"
    exit_code = EXIT_ERROR

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class BadInput(RuntimeFailure):
    code = "bad_input"
    exit_code = EXIT_BAD_INPUT


class MissingDependency(RuntimeFailure):
    code = "missing_dependency"
    exit_code = EXIT_MISSING_DEP


class ModelLoadError(RuntimeFailure):
    code = "model_load"
    exit_code = EXIT_MODEL


class DeviceError(RuntimeFailure):
    code = "device"
    exit_code = EXIT_DEVICE


class OutOfMemory(RuntimeFailure):
    code = "oom"
    exit_code = EXIT_OOM


INSTALL_HINTS = {
    "torch": "apt-get install python3-torch (Debian/Ubuntu, for /usr/bin/python3) or pip install torch",
    "transformers": "pip install transformers",
    "peft": "pip install peft",
    "onnx": "apt-get install python3-onnx or pip install onnx",
    "onnxruntime": "pip install onnxruntime",
    "safetensors": "pip install safetensors",
    "numpy": "apt-get install python3-numpy or pip install numpy",
}


def module_version(name: str) -> Optional[str]:
    """The module's version string, '' when it has none, None when it does not import."""
    try:
        mod = importlib.import_module(name)
    except Exception:  # ImportError, or a broken install raising anything else
        return None
    return str(getattr(mod, "__version__", "") or "")


def has_module(name: str) -> bool:
    return module_version(name) is not None


def require_torch() -> None:
    """Raises MissingDependency with an install hint when PyTorch does not import."""
    try:
        importlib.import_module("torch")
    except Exception as err:  # noqa: BLE001 - any import failure means "no usable torch"
        raise MissingDependency(
            f"PyTorch is required by the SSR trainer but does not import in {sys.executable} "
            f"(Python {sys.version.split()[0]}): {err}. Install it: {INSTALL_HINTS['torch']}; "
            "or point SSR_PYTHON at an interpreter that has it. "
            "Run `python3 -m ssr_runtime.doctor` to see what this machine has."
        ) from None


def require(name: str, why: str) -> None:
    if not has_module(name):
        raise MissingDependency(f"{name} is required {why} but is not installed in {sys.executable}: {INSTALL_HINTS.get(name, 'pip install ' + name)}")
