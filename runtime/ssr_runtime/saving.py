"""Saving the policy: checkpoints, the final model and adapter, the ONNX export into the model.

Everything is written to a temporary sibling folder first and renamed into
place, so a folder with the final name is always complete (a crash leaves a
`.NAME.tmp-*` folder at most).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from typing import Any, Callable, Optional

from .modeling import Policy, Warn, is_builtin_lora


def tmp_sibling(path: str, tag: str = "tmp") -> str:
    parent, name = os.path.split(os.path.abspath(path))
    return os.path.join(parent, f".{name}.{tag}-{os.getpid()}-{int(time.time() * 1000)}")


def publish(tmp: str, final: str) -> None:
    """Atomically puts folder `tmp` at `final` (replacing an older `final`)."""
    if os.path.exists(final):
        old = tmp_sibling(final, "old")
        os.rename(final, old)
        os.rename(tmp, final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.rename(tmp, final)


def _fsync_tree(folder: str) -> None:
    for root, _dirs, files in os.walk(folder):
        for f in files:
            try:
                fd = os.open(os.path.join(root, f), os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
            except OSError:
                pass


def _save_full(model: Any, tokenizer: Any, backend: str, folder: str) -> None:
    if backend == "tiny":
        from . import tiny_model

        was = model.training
        tiny_model.save_model(model, tokenizer, folder)
        model.train(was)
    else:
        model.save_pretrained(folder, safe_serialization=True)
        tokenizer.save_pretrained(folder)



def save_checkpoint(pol: Policy, folder: str, state: dict, extra: Optional[Callable[[str], None]] = None) -> str:
    """Model (or LoRA adapter) + trainer_state.json into `folder`, atomically. `extra(tmp)` adds files
    (the trainer's resume state) before the folder is published."""
    tmp = tmp_sibling(folder)
    os.makedirs(tmp)
    try:
        if extra is not None:
            extra(tmp)
        if pol.lora and is_builtin_lora(pol):
            from . import lora as builtin

            builtin.save_adapter(pol.model, os.path.join(tmp, "adapter"), os.path.abspath(pol.folder))
            state = dict(state, adapter="adapter", base_model=os.path.abspath(pol.folder))
        elif pol.lora:
            pol.model.save_pretrained(os.path.join(tmp, "adapter"))
            if hasattr(pol.tokenizer, "save_pretrained"):
                pol.tokenizer.save_pretrained(os.path.join(tmp, "adapter"))
            state = dict(state, adapter="adapter", base_model=os.path.abspath(pol.folder))
        else:
            _save_full(pol.model, pol.tokenizer, pol.backend, tmp)
        with open(os.path.join(tmp, "trainer_state.json"), "w", encoding="utf-8") as f:
            json.dump(state, f, indent=2)
        _fsync_tree(tmp)
        publish(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return folder


def save_final(pol: Policy, out_dir: str, warn: Warn, before_publish: Optional[Callable[[str], None]] = None) -> dict:
    """OUT/model: full (merged) weights for vLLM / further training; OUT/adapter: the LoRA adapter when LoRA was used.

    `before_publish(tmp_folder)` runs on the complete temporary model folder before it is renamed into
    place (the ONNX export goes there, so OUT/model never appears without the files it will have)."""
    paths = {"model": None, "adapter": None}
    if pol.lora:
        adapter = os.path.join(out_dir, "adapter")
        tmp = tmp_sibling(adapter)
        try:
            if is_builtin_lora(pol):
                from . import lora as builtin

                builtin.save_adapter(pol.model, tmp, os.path.abspath(pol.folder))
            else:
                pol.model.save_pretrained(tmp)
                if hasattr(pol.tokenizer, "save_pretrained"):
                    pol.tokenizer.save_pretrained(tmp)
            _fsync_tree(tmp)
            publish(tmp, adapter)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        paths["adapter"] = adapter
        if is_builtin_lora(pol):
            from . import lora as builtin

            merged = builtin.merge(pol.model)
        else:
            merged = pol.model.merge_and_unload()
        pol.model, pol.lora = merged, False
    model_dir = os.path.join(out_dir, "model")
    tmp = tmp_sibling(model_dir)
    try:
        _save_full(pol.model, pol.tokenizer, pol.backend, tmp)
        if before_publish is not None:
            before_publish(tmp)
        _fsync_tree(tmp)
        publish(tmp, model_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    paths["model"] = model_dir
    return paths


def export_onnx_into(model_dir: str) -> str:
    """Adds onnx/model.onnx (the `onnx` policy's file) to a saved model folder; returns its path.
    On failure nothing of it is left in the folder."""
    from . import export_onnx

    try:
        return export_onnx.export(model_dir, model_dir)
    except BaseException:
        shutil.rmtree(os.path.join(model_dir, "onnx"), ignore_errors=True)
        raise
