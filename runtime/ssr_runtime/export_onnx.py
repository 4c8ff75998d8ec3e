"""Export a Llama-layout model folder to the ONNX layout transformers.js loads.

    cd runtime && /usr/bin/python3 -m ssr_runtime.export_onnx --model DIR --out DIR

`--out` may equal `--model`: the folder then holds both the PyTorch weights
(for the trainer) and onnx/model.onnx (for the `onnx` policy), like the
onnx-community repositories on the Hugging Face hub.

Output layout (what Hugging Face Optimum exports as `text-generation-with-past`
and transformers.js reads with AutoModelForCausalLM):

    OUT/config.json
    OUT/generation_config.json
    OUT/tokenizer.json
    OUT/tokenizer_config.json
    OUT/onnx/model.onnx              decoder with KV cache, float32, opset 14

ONNX inputs (Optimum names, dynamic axes in quotes):
    input_ids                  int64   ["batch_size", "sequence_length"]
    attention_mask             int64   ["batch_size", "past_sequence_length + sequence_length"]
    position_ids               int64   ["batch_size", "sequence_length"]
    past_key_values.{i}.key    float32 ["batch_size", num_key_value_heads, "past_sequence_length", head_dim]
    past_key_values.{i}.value  float32 (same)
ONNX outputs:
    logits                     float32 ["batch_size", "sequence_length", vocab_size]
    present.{i}.key            float32 ["batch_size", num_key_value_heads, "past_sequence_length + sequence_length", head_dim]
    present.{i}.value          float32 (same)

The first step passes past tensors with past_sequence_length 0 (what
transformers.js does); later steps pass the previous `present.*` back as
`past_key_values.*`.

Needs PyTorch and the `onnx` package (for the checker); numerical checks
against onnxruntime run from Node (test/unit/policy/onnx.test.ts), since the
Python onnxruntime is optional.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import warnings
from typing import List, Optional

import torch
import torch.nn as nn

from .tiny_model import LlamaForCausalLM, load_model

OPSET = 14
COPY_FILES = ("config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json",
              "special_tokens_map.json")


class _DecoderWithPast(nn.Module):
    """Flat-signature wrapper: (ids, mask, pos, k0, v0, k1, v1, ...) -> (logits, k0', v0', ...)."""

    def __init__(self, model: LlamaForCausalLM):
        super().__init__()
        self.model = model
        self.num_layers = model.config.num_hidden_layers

    def forward(self, input_ids, attention_mask, position_ids, *past):
        pkv = tuple((past[2 * i], past[2 * i + 1]) for i in range(self.num_layers))
        out = self.model(input_ids, attention_mask=attention_mask, position_ids=position_ids,
                         past_key_values=pkv, use_cache=True)
        flat: List[torch.Tensor] = [out.logits]
        for k, v in out.past_key_values:
            flat.extend([k, v])
        return tuple(flat)


def io_names(num_layers: int):
    inputs = ["input_ids", "attention_mask", "position_ids"]
    outputs = ["logits"]
    for i in range(num_layers):
        inputs += [f"past_key_values.{i}.key", f"past_key_values.{i}.value"]
        outputs += [f"present.{i}.key", f"present.{i}.value"]
    return inputs, outputs


def export(model_dir: str, out_dir: str, opset: int = OPSET) -> str:
    model, _tok = load_model(model_dir)
    model = model.float().eval()
    cfg = model.config
    n_layers, n_kv, head_dim = cfg.num_hidden_layers, cfg.num_key_value_heads, cfg.head_dim

    os.makedirs(os.path.join(out_dir, "onnx"), exist_ok=True)
    if os.path.abspath(out_dir) != os.path.abspath(model_dir):
        for name in COPY_FILES:
            src = os.path.join(model_dir, name)
            if os.path.exists(src):
                shutil.copyfile(src, os.path.join(out_dir, name))

    batch, seq, past = 2, 3, 4
    input_ids = torch.randint(0, cfg.vocab_size, (batch, seq), dtype=torch.long)
    attention_mask = torch.ones(batch, past + seq, dtype=torch.long)
    position_ids = torch.arange(past, past + seq, dtype=torch.long).unsqueeze(0).expand(batch, -1).contiguous()
    past_kv = []
    for _ in range(n_layers):
        past_kv.append(torch.randn(batch, n_kv, past, head_dim))
        past_kv.append(torch.randn(batch, n_kv, past, head_dim))

    inputs, outputs = io_names(n_layers)
    dynamic_axes = {
        "input_ids": {0: "batch_size", 1: "sequence_length"},
        "attention_mask": {0: "batch_size", 1: "past_sequence_length + sequence_length"},
        "position_ids": {0: "batch_size", 1: "sequence_length"},
        "logits": {0: "batch_size", 1: "sequence_length"},
    }
    for i in range(n_layers):
        for kind in ("key", "value"):
            dynamic_axes[f"past_key_values.{i}.{kind}"] = {0: "batch_size", 2: "past_sequence_length"}
            dynamic_axes[f"present.{i}.{kind}"] = {0: "batch_size", 2: "past_sequence_length + sequence_length"}

    target = os.path.join(out_dir, "onnx", "model.onnx")
    tmp = target + ".tmp"
    wrapper = _DecoderWithPast(model)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            wrapper,
            (input_ids, attention_mask, position_ids, *past_kv),
            tmp,
            input_names=inputs,
            output_names=outputs,
            dynamic_axes=dynamic_axes,
            opset_version=opset,
            do_constant_folding=True,
        )
    try:
        import onnx  # type: ignore

        onnx.checker.check_model(tmp)
    except ImportError:
        pass
    os.replace(tmp, target)
    return target


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m ssr_runtime.export_onnx",
                                     description="Export a Llama model folder to ONNX (Optimum / transformers.js layout).")
    parser.add_argument("--model", required=True, help="model folder (config.json, tokenizer, pytorch_model.bin)")
    parser.add_argument("--out", required=True, help="output folder (may equal --model)")
    parser.add_argument("--opset", type=int, default=OPSET)
    args = parser.parse_args(argv)
    try:
        path = export(args.model, args.out, args.opset)
    except (FileNotFoundError, ValueError) as err:
        print(f"export_onnx: {err}", file=sys.stderr)
        return 2
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
