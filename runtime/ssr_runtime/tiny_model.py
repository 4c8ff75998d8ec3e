"""A tiny Llama-architecture causal LM and its byte-level BPE tokenizer, in PyTorch only.

This is the model SSR's tests, smoke runs and CI use: small enough to build,
train and sample on a laptop CPU in seconds, but laid out exactly like a
Hugging Face Llama checkpoint, so that the same code paths (trainer, ONNX
export, the `onnx` policy through transformers.js) work unchanged on a real
model folder.

Stable API (the RL trainer in runtime/ssr_runtime imports these):

    build_tiny(out_dir, seed=0, **overrides) -> str
        Writes a fresh tiny model folder (Hugging Face layout, see below) and
        returns its path. Deterministic for a given seed and torch version.

    load_model(folder, device="cpu", dtype=None) -> (model, tokenizer)
        model: LlamaForCausalLM (a torch.nn.Module) whose
            forward(input_ids, attention_mask=None, position_ids=None,
                    past_key_values=None, use_cache=False, labels=None)
        returns a CausalLMOutput with
            .logits          float tensor [B, T, V] (dtype of the model)
            .past_key_values tuple over layers of (key, value), each
                             [B, num_key_value_heads, past+T, head_dim],
                             only when use_cache=True (else None)
            .loss            mean next-token cross-entropy when labels are
                             given (labels shifted inside, -100 ignored)
        attention_mask is [B, past+T] with 1 for real tokens, 0 for padding.
        position_ids default to past .. past+T-1 for every row (what Hugging
        Face does); pass them explicitly for left-padded batches, e.g.
        (attention_mask.cumsum(-1) - 1).clamp(min=0).
        model.config is a LlamaConfig (attribute access, .to_dict()).
        tokenizer: ByteLevelBPETokenizer with
            encode(text, add_special_tokens=False) -> list[int]
            decode(ids, skip_special_tokens=False) -> str
            apply_chat_template(messages, add_generation_prompt=True,
                                tokenize=False) -> str (list[int] if tokenize)
            eos_token_id (the chat end token <|im_end|>), pad_token_id,
            bos_token_id (None), vocab_size, all_special_ids.
        Loads pytorch_model.bin or model.safetensors (also sharded, with an
        *.index.json), for any config with model_type "llama".

    save_model(model, tokenizer, folder, weights_format="bin") -> None
        Writes the same layout back (config.json, generation_config.json,
        tokenizer.json, tokenizer_config.json, pytorch_model.bin, or
        model.safetensors with weights_format="safetensors"). A stale
        onnx/ subfolder in `folder` is removed, since it would no longer match
        the weights; run `python3 -m ssr_runtime.export_onnx` again.

Folder layout written by build_tiny / save_model:

    config.json             model_type "llama", architectures ["LlamaForCausalLM"],
                            the usual Hugging Face LlamaConfig keys
    generation_config.json  bos/eos/pad ids, do_sample, temperature 1.0, top_p 0.95
    tokenizer.json          Hugging Face `tokenizers` JSON: byte-level BPE
                            (Split pre-tokenizer + ByteLevel, like Qwen2), so it
                            encodes ANY text; special tokens <|endoftext|>,
                            <|im_start|>, <|im_end|>
    tokenizer_config.json   ChatML chat_template, eos "<|im_end|>", pad "<|endoftext|>"
    pytorch_model.bin       state dict with Hugging Face Llama names
                            (model.embed_tokens.weight, model.layers.0.self_attn.q_proj.weight, ...,
                            lm_head.weight unless tie_word_embeddings)

A real `transformers` install can load this folder with
AutoModelForCausalLM / AutoTokenizer. `python3 -m ssr_runtime.export_onnx`
adds onnx/model.onnx so that transformers.js (the `onnx` policy) loads it.

The parts live in their own modules (all re-exported here): llama.py (the
model), bpe_tokenizer.py (the tokenizer), tiny_vocab.py (the tiny vocabulary
and its corpus), hf_files.py (config, tokenizer and weights files).

CLI: python3 -m ssr_runtime.tiny_model build OUT_DIR [--seed N]
     python3 -m ssr_runtime.tiny_model logits --model DIR --ids 1,2,3
         (prints the logits of one sequence as JSON; used by tests)
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from typing import Any, Dict, List, Optional

import torch

from .bpe_tokenizer import CHATML_TEMPLATE, ENDOFTEXT, ByteLevelBPETokenizer
from .hf_files import load_weights, read_json, write_json, write_safetensors
from .llama import _TRANSFORMERS_VERSION, CausalLMOutput, LlamaConfig, LlamaForCausalLM, build_attention_mask
from .tiny_vocab import CORPUS_BASE, chat_corpus, make_tokenizer

__all__ = [
    "LlamaConfig",
    "LlamaForCausalLM",
    "CausalLMOutput",
    "ByteLevelBPETokenizer",
    "build_tiny",
    "load_model",
    "save_model",
    "CHATML_TEMPLATE",
    "build_attention_mask",
    "make_tokenizer",
]

# --------------------------------------------------------------------------
# Build / load / save
# --------------------------------------------------------------------------

TINY_DEFAULTS: Dict[str, Any] = {
    "hidden_size": 64,
    "intermediate_size": 192,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    # Rotary positions are computed on the fly, so a long context costs
    # nothing until used; the agent's system prompt alone is ~9k tokens.
    "max_position_embeddings": 32768,
    "rms_norm_eps": 1e-6,
    "rope_theta": 10000.0,
    "tie_word_embeddings": False,
    "initializer_range": 0.02,
}


def _warm_up(model: LlamaForCausalLM, tokenizer: ByteLevelBPETokenizer, steps: int, seed: int) -> None:
    """A few hundred Adam steps on the built-in corpus so the distributions are
    peaked (meaningful log-probs) and the model has seen ChatML and tool tags."""
    if steps <= 0:
        return
    text = chat_corpus() + CORPUS_BASE
    ids = tokenizer.encode(text)
    data = torch.tensor(ids, dtype=torch.long)
    seq = 64
    gen = torch.Generator().manual_seed(seed + 1)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    model.train()
    for _ in range(steps):
        starts = torch.randint(0, max(1, len(ids) - seq - 1), (8,), generator=gen)
        batch = torch.stack([data[s:s + seq] for s in starts.tolist()])
        loss = model(batch, labels=batch).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()


def build_tiny(out_dir: str, seed: int = 0, warmup_steps: int = 150, **overrides: Any) -> str:
    """Builds the tiny model + tokenizer into `out_dir` (Hugging Face layout)."""
    torch.manual_seed(seed)
    tokenizer = make_tokenizer()
    cfg = dict(TINY_DEFAULTS)
    cfg.update(overrides)
    cfg.update({
        "vocab_size": tokenizer.vocab_size,
        "bos_token_id": None,
        "eos_token_id": tokenizer.eos_token_id,
        "pad_token_id": tokenizer.pad_token_id,
    })
    config = LlamaConfig(**cfg)
    model = LlamaForCausalLM(config)
    gen = torch.Generator().manual_seed(seed)
    model.init_weights(generator=gen)
    _warm_up(model, tokenizer, warmup_steps, seed)
    model.generation_config = default_generation_config(tokenizer)
    save_model(model, tokenizer, out_dir)
    return out_dir


def default_generation_config(tokenizer: ByteLevelBPETokenizer) -> Dict[str, Any]:
    eos = [i for i in (tokenizer.eos_token_id, tokenizer.vocab.get(ENDOFTEXT)) if i is not None]
    return {
        "bos_token_id": tokenizer.bos_token_id,
        "eos_token_id": eos if len(eos) > 1 else (eos[0] if eos else None),
        "pad_token_id": tokenizer.pad_token_id,
        "do_sample": True,
        "temperature": 1.0,
        "top_p": 0.95,
        "max_new_tokens": 512,
        "transformers_version": _TRANSFORMERS_VERSION,
    }


def load_model(folder: str, device: str = "cpu", dtype: Optional[torch.dtype] = None):
    """Loads (model, tokenizer) from a Hugging Face Llama-layout folder."""
    config_path = os.path.join(folder, "config.json")
    if not os.path.exists(config_path):
        raise FileNotFoundError(f"{folder}: no config.json (is this a model folder?)")
    config = LlamaConfig.from_dict(read_json(config_path))
    model = LlamaForCausalLM(config)
    model.load_hf_state_dict(load_weights(folder))
    gc_path = os.path.join(folder, "generation_config.json")
    if os.path.exists(gc_path):
        model.generation_config = read_json(gc_path)
    if dtype is not None:
        model = model.to(dtype)
    model = model.to(device)
    model.eval()
    tokenizer = ByteLevelBPETokenizer.from_folder(folder)
    return model, tokenizer


def save_model(model: LlamaForCausalLM, tokenizer: ByteLevelBPETokenizer, folder: str,
               weights_format: str = "bin") -> None:
    """Writes model + tokenizer in the layout load_model reads.

    weights_format "bin" writes pytorch_model.bin (torch.save of the state
    dict); "safetensors" writes model.safetensors instead (what recent
    `transformers` prefer). The other weights file, if present, is removed.
    """
    if weights_format not in ("bin", "safetensors"):
        raise ValueError("weights_format must be 'bin' or 'safetensors'")
    os.makedirs(folder, exist_ok=True)
    cfg = model.config.to_dict()
    cfg["torch_dtype"] = str(model.dtype).replace("torch.", "")
    write_json(os.path.join(folder, "config.json"), cfg)
    gen_cfg = dict(model.generation_config or default_generation_config(tokenizer))
    write_json(os.path.join(folder, "generation_config.json"), gen_cfg)
    tokenizer.save(folder)
    target = "pytorch_model.bin" if weights_format == "bin" else "model.safetensors"
    tmp = os.path.join(folder, target + ".tmp")
    if weights_format == "bin":
        torch.save(model.hf_state_dict(), tmp)
    else:
        write_safetensors(tmp, model.hf_state_dict())
    os.replace(tmp, os.path.join(folder, target))
    stale_files = ["model.safetensors.index.json", "pytorch_model.bin.index.json",
                   "model.safetensors" if weights_format == "bin" else "pytorch_model.bin"]
    for stale in stale_files:
        p = os.path.join(folder, stale)
        if os.path.exists(p):
            os.remove(p)
    onnx_dir = os.path.join(folder, "onnx")
    if os.path.isdir(onnx_dir):
        shutil.rmtree(onnx_dir)


# --------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------


def main(argv: Optional[List[str]] = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python3 -m ssr_runtime.tiny_model", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="write a fresh tiny model folder")
    b.add_argument("out_dir")
    b.add_argument("--seed", type=int, default=0)
    b.add_argument("--warmup-steps", type=int, default=150)
    lg = sub.add_parser("logits", help="print the logits of one sequence as JSON")
    lg.add_argument("--model", required=True)
    lg.add_argument("--ids", required=True, help="comma-separated token ids")
    enc = sub.add_parser("encode", help="print token ids of texts (JSON list of strings on stdin)")
    enc.add_argument("--model", required=True)
    args = parser.parse_args(argv)
    if args.cmd == "build":
        build_tiny(args.out_dir, seed=args.seed, warmup_steps=args.warmup_steps)
        print(args.out_dir)
    elif args.cmd == "logits":
        model, _ = load_model(args.model)
        ids = [int(x) for x in args.ids.split(",") if x.strip()]
        with torch.no_grad():
            logits = model(torch.tensor([ids], dtype=torch.long)).logits[0]
        json.dump({"ids": ids, "logits": logits.tolist()}, sys.stdout)
    elif args.cmd == "encode":
        tok = ByteLevelBPETokenizer.from_folder(args.model)
        texts = json.load(sys.stdin)
        json.dump([tok.encode(t) for t in texts], sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
