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

CLI: python3 -m ssr_runtime.tiny_model build OUT_DIR [--seed N]
     python3 -m ssr_runtime.tiny_model logits --model DIR --ids 1,2,3
         (prints the logits of one sequence as JSON; used by tests)
"""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import sys
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = [
    "LlamaConfig",
    "LlamaForCausalLM",
    "CausalLMOutput",
    "ByteLevelBPETokenizer",
    "build_tiny",
    "load_model",
    "save_model",
    "CHATML_TEMPLATE",
]

# --------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------

_TRANSFORMERS_VERSION = "4.46.0"  # the layout this mirrors; written into config.json


class LlamaConfig:
    """The subset of transformers.LlamaConfig this implementation honours.

    Unknown keys from a config.json are kept (and written back) untouched.
    """

    defaults: Dict[str, Any] = {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "vocab_size": 32000,
        "hidden_size": 4096,
        "intermediate_size": 11008,
        "num_hidden_layers": 32,
        "num_attention_heads": 32,
        "num_key_value_heads": None,
        "head_dim": None,
        "hidden_act": "silu",
        "max_position_embeddings": 2048,
        "initializer_range": 0.02,
        "rms_norm_eps": 1e-6,
        "use_cache": True,
        "pad_token_id": None,
        "bos_token_id": None,
        "eos_token_id": None,
        "pretraining_tp": 1,
        "tie_word_embeddings": False,
        "rope_theta": 10000.0,
        "rope_scaling": None,
        "attention_bias": False,
        "attention_dropout": 0.0,
        "mlp_bias": False,
        "torch_dtype": "float32",
        "transformers_version": _TRANSFORMERS_VERSION,
    }

    def __init__(self, **kwargs: Any):
        values = dict(self.defaults)
        values.update(kwargs)
        if values.get("num_key_value_heads") is None:
            values["num_key_value_heads"] = values["num_attention_heads"]
        if values.get("head_dim") is None:
            values["head_dim"] = values["hidden_size"] // values["num_attention_heads"]
        self.__dict__.update(values)

    def to_dict(self) -> Dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, d: Dict[str, Any]) -> "LlamaConfig":
        return cls(**d)

    def validate(self) -> None:
        if self.model_type != "llama":
            raise ValueError(f"model_type is {self.model_type!r}; this loader only supports \"llama\"")
        if self.hidden_act != "silu":
            raise ValueError(f"hidden_act {self.hidden_act!r} is not supported (only \"silu\")")
        if self.rope_scaling not in (None, {}):
            raise ValueError("rope_scaling is not supported by ssr_runtime.tiny_model")
        if self.num_attention_heads % self.num_key_value_heads:
            raise ValueError("num_attention_heads must be a multiple of num_key_value_heads")


# --------------------------------------------------------------------------
# Model (mirrors transformers.models.llama.modeling_llama)
# --------------------------------------------------------------------------


@dataclass
class CausalLMOutput:
    logits: torch.Tensor
    past_key_values: Optional[Tuple[Tuple[torch.Tensor, torch.Tensor], ...]] = None
    loss: Optional[torch.Tensor] = None


class LlamaRMSNorm(nn.Module):
    def __init__(self, hidden_size: int, eps: float = 1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(hidden_size))
        self.variance_epsilon = eps

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        input_dtype = hidden_states.dtype
        hidden_states = hidden_states.to(torch.float32)
        variance = hidden_states.pow(2).mean(-1, keepdim=True)
        hidden_states = hidden_states * torch.rsqrt(variance + self.variance_epsilon)
        return self.weight * hidden_states.to(input_dtype)


class LlamaRotaryEmbedding(nn.Module):
    def __init__(self, config: LlamaConfig):
        super().__init__()
        dim = config.head_dim
        inv_freq = 1.0 / (config.rope_theta ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim))
        self.register_buffer("inv_freq", inv_freq, persistent=False)

    @torch.no_grad()
    def forward(self, x: torch.Tensor, position_ids: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        # [B, T, dim/2] = positions x inverse frequencies, in float32 like HF.
        freqs = position_ids[:, :, None].float() * self.inv_freq[None, None, :].float()
        emb = torch.cat((freqs, freqs), dim=-1)
        return emb.cos().to(x.dtype), emb.sin().to(x.dtype)


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    half = x.shape[-1] // 2
    x1 = x[..., :half]
    x2 = x[..., half:]
    return torch.cat((-x2, x1), dim=-1)


def apply_rotary_pos_emb(q, k, cos, sin):
    cos = cos.unsqueeze(1)
    sin = sin.unsqueeze(1)
    return (q * cos) + (rotate_half(q) * sin), (k * cos) + (rotate_half(k) * sin)


def repeat_kv(hidden_states: torch.Tensor, n_rep: int) -> torch.Tensor:
    if n_rep == 1:
        return hidden_states
    b, h, t, d = hidden_states.shape
    return hidden_states[:, :, None, :, :].expand(b, h, n_rep, t, d).reshape(b, h * n_rep, t, d)


class LlamaAttention(nn.Module):
    def __init__(self, config: LlamaConfig, layer_idx: int):
        super().__init__()
        self.layer_idx = layer_idx
        self.head_dim = config.head_dim
        self.num_heads = config.num_attention_heads
        self.num_kv_heads = config.num_key_value_heads
        self.num_key_value_groups = self.num_heads // self.num_kv_heads
        self.scaling = self.head_dim ** -0.5
        bias = bool(config.attention_bias)
        self.q_proj = nn.Linear(config.hidden_size, self.num_heads * self.head_dim, bias=bias)
        self.k_proj = nn.Linear(config.hidden_size, self.num_kv_heads * self.head_dim, bias=bias)
        self.v_proj = nn.Linear(config.hidden_size, self.num_kv_heads * self.head_dim, bias=bias)
        self.o_proj = nn.Linear(self.num_heads * self.head_dim, config.hidden_size, bias=bias)

    def forward(self, hidden_states, cos, sin, mask, past_kv=None):
        bsz, q_len = hidden_states.shape[0], hidden_states.shape[1]
        q = self.q_proj(hidden_states).view(bsz, q_len, -1, self.head_dim).transpose(1, 2)
        k = self.k_proj(hidden_states).view(bsz, q_len, -1, self.head_dim).transpose(1, 2)
        v = self.v_proj(hidden_states).view(bsz, q_len, -1, self.head_dim).transpose(1, 2)
        q, k = apply_rotary_pos_emb(q, k, cos, sin)
        if past_kv is not None:
            k = torch.cat([past_kv[0], k], dim=2)
            v = torch.cat([past_kv[1], v], dim=2)
        present = (k, v)
        k_rep = repeat_kv(k, self.num_key_value_groups)
        v_rep = repeat_kv(v, self.num_key_value_groups)
        scores = torch.matmul(q, k_rep.transpose(2, 3)) * self.scaling
        scores = scores.masked_fill(~mask, torch.finfo(scores.dtype).min)
        probs = F.softmax(scores, dim=-1, dtype=torch.float32).to(q.dtype)
        out = torch.matmul(probs, v_rep)
        out = out.transpose(1, 2).reshape(bsz, q_len, -1)
        return self.o_proj(out), present


class LlamaMLP(nn.Module):
    def __init__(self, config: LlamaConfig):
        super().__init__()
        bias = bool(config.mlp_bias)
        self.gate_proj = nn.Linear(config.hidden_size, config.intermediate_size, bias=bias)
        self.up_proj = nn.Linear(config.hidden_size, config.intermediate_size, bias=bias)
        self.down_proj = nn.Linear(config.intermediate_size, config.hidden_size, bias=bias)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class LlamaDecoderLayer(nn.Module):
    def __init__(self, config: LlamaConfig, layer_idx: int):
        super().__init__()
        self.self_attn = LlamaAttention(config, layer_idx)
        self.mlp = LlamaMLP(config)
        self.input_layernorm = LlamaRMSNorm(config.hidden_size, eps=config.rms_norm_eps)
        self.post_attention_layernorm = LlamaRMSNorm(config.hidden_size, eps=config.rms_norm_eps)

    def forward(self, hidden_states, cos, sin, mask, past_kv=None):
        residual = hidden_states
        h, present = self.self_attn(self.input_layernorm(hidden_states), cos, sin, mask, past_kv)
        hidden_states = residual + h
        hidden_states = hidden_states + self.mlp(self.post_attention_layernorm(hidden_states))
        return hidden_states, present


class LlamaModel(nn.Module):
    def __init__(self, config: LlamaConfig):
        super().__init__()
        self.embed_tokens = nn.Embedding(config.vocab_size, config.hidden_size)
        self.layers = nn.ModuleList([LlamaDecoderLayer(config, i) for i in range(config.num_hidden_layers)])
        self.norm = LlamaRMSNorm(config.hidden_size, eps=config.rms_norm_eps)
        self.rotary_emb = LlamaRotaryEmbedding(config)


def build_attention_mask(attention_mask: torch.Tensor, q_len, past_len) -> torch.Tensor:
    """Boolean [B, 1, T, past+T] mask: causal AND not padding.

    Written with tensor ops only (no Python ints from shapes) so that ONNX
    export traces it with dynamic sequence and past lengths.
    """
    am = attention_mask.to(torch.bool)
    ones_k = torch.ones_like(attention_mask[0], dtype=torch.int64)
    key_pos = torch.cumsum(ones_k, dim=0) - 1  # [K]
    query_pos = key_pos[past_len:]  # [T]: absolute positions of the queries
    causal = key_pos[None, :] <= query_pos[:, None]  # [T, K]
    return causal[None, None, :, :] & am[:, None, None, :]


class LlamaForCausalLM(nn.Module):
    """Decoder-only causal LM with Hugging Face Llama parameter names."""

    def __init__(self, config: LlamaConfig):
        super().__init__()
        config.validate()
        self.config = config
        self.generation_config: Dict[str, Any] = {}
        self.model = LlamaModel(config)
        self.lm_head = nn.Linear(config.hidden_size, config.vocab_size, bias=False)
        if config.tie_word_embeddings:
            self.lm_head.weight = self.model.embed_tokens.weight

    # -- init like HF's LlamaPreTrainedModel._init_weights -------------------
    def init_weights(self, generator: Optional[torch.Generator] = None, std: Optional[float] = None) -> None:
        std = self.config.initializer_range if std is None else std
        with torch.no_grad():
            for module in self.modules():
                if isinstance(module, nn.Linear):
                    module.weight.normal_(0.0, std, generator=generator)
                    if module.bias is not None:
                        module.bias.zero_()
                elif isinstance(module, nn.Embedding):
                    module.weight.normal_(0.0, std, generator=generator)
                elif isinstance(module, LlamaRMSNorm):
                    module.weight.fill_(1.0)
            if self.config.tie_word_embeddings:
                self.lm_head.weight = self.model.embed_tokens.weight

    @property
    def device(self) -> torch.device:
        return self.lm_head.weight.device

    @property
    def dtype(self) -> torch.dtype:
        return self.lm_head.weight.dtype

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: Optional[torch.Tensor] = None,
        position_ids: Optional[torch.Tensor] = None,
        past_key_values: Optional[Sequence[Tuple[torch.Tensor, torch.Tensor]]] = None,
        use_cache: bool = False,
        labels: Optional[torch.Tensor] = None,
    ) -> CausalLMOutput:
        bsz, q_len = input_ids.shape
        past_len = past_key_values[0][0].shape[2] if past_key_values is not None else 0
        if attention_mask is None:
            attention_mask = torch.ones(bsz, past_len + q_len, dtype=torch.int64, device=input_ids.device)
        if position_ids is None:
            position_ids = torch.arange(past_len, past_len + q_len, device=input_ids.device).unsqueeze(0).expand(bsz, -1)
        hidden = self.model.embed_tokens(input_ids)
        cos, sin = self.model.rotary_emb(hidden, position_ids)
        mask = build_attention_mask(attention_mask, q_len, past_len)
        presents = []
        for i, layer in enumerate(self.model.layers):
            past = past_key_values[i] if past_key_values is not None else None
            hidden, present = layer(hidden, cos, sin, mask, past)
            presents.append(present)
        hidden = self.model.norm(hidden)
        logits = self.lm_head(hidden)
        loss = None
        if labels is not None:
            shift_logits = logits[:, :-1, :].float().reshape(-1, logits.shape[-1])
            shift_labels = labels[:, 1:].reshape(-1).to(shift_logits.device)
            loss = F.cross_entropy(shift_logits, shift_labels, ignore_index=-100)
        return CausalLMOutput(logits=logits, past_key_values=tuple(presents) if use_cache else None, loss=loss)

    def hf_state_dict(self) -> Dict[str, torch.Tensor]:
        """State dict as Hugging Face saves it (tied lm_head.weight left out)."""
        sd = {k: v.detach().contiguous().cpu() for k, v in self.state_dict().items()}
        if self.config.tie_word_embeddings:
            sd.pop("lm_head.weight", None)
        return sd

    def load_hf_state_dict(self, sd: Dict[str, torch.Tensor]) -> None:
        sd = dict(sd)
        if self.config.tie_word_embeddings:
            sd.pop("lm_head.weight", None)
        sd = {k: v for k, v in sd.items() if not k.endswith("rotary_emb.inv_freq")}
        missing, unexpected = self.load_state_dict(sd, strict=False)
        missing = [m for m in missing if not (self.config.tie_word_embeddings and m == "lm_head.weight")]
        if missing or unexpected:
            raise ValueError(f"weights do not match the config: missing {missing[:5]}, unexpected {unexpected[:5]}")
        if self.config.tie_word_embeddings:
            self.lm_head.weight = self.model.embed_tokens.weight

    @torch.no_grad()
    def generate_greedy(self, input_ids: List[int], max_new_tokens: int, eos_ids: Iterable[int] = ()) -> List[int]:
        """Small greedy decoding helper with KV cache (tests and sanity checks)."""
        eos = set(eos_ids)
        ids = torch.tensor([input_ids], dtype=torch.long, device=self.device)
        out = self(ids, use_cache=True)
        past = out.past_key_values
        result: List[int] = []
        for _ in range(max_new_tokens):
            nxt = int(out.logits[0, -1].argmax())
            result.append(nxt)
            if nxt in eos:
                break
            out = self(torch.tensor([[nxt]], device=self.device), past_key_values=past, use_cache=True)
            past = out.past_key_values
        return result


# --------------------------------------------------------------------------
# Tokenizer: byte-level BPE in the Hugging Face `tokenizers` JSON format
# --------------------------------------------------------------------------

# Pre-tokenizer split pattern. ASCII-only classes on purpose: Python `re`, the
# Rust `tokenizers` (Oniguruma) and transformers.js (JS RegExp) then agree on
# every input, including non-ASCII text (which falls in the "other" class and
# is then encoded byte by byte).
SPLIT_PATTERN = r" ?[A-Za-z]+| ?[0-9]{1,3}| ?[^ \t\r\nA-Za-z0-9]+|[ \t\r\n]+(?![^ \t\r\n])|[ \t\r\n]+"

ENDOFTEXT = "<|endoftext|>"
IM_START = "<|im_start|>"
IM_END = "<|im_end|>"
SPECIAL_TOKENS = [ENDOFTEXT, IM_START, IM_END]

CHATML_TEMPLATE = (
    "{%- for message in messages %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}"
    "{{- '<|im_start|>assistant\\n' }}"
    "{%- endif %}"
)


def bytes_to_unicode() -> Dict[int, str]:
    """GPT-2's reversible byte -> printable unicode character map."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


_BYTE_ENCODER = bytes_to_unicode()
_BYTE_DECODER = {c: b for b, c in _BYTE_ENCODER.items()}


def _regex_split_isolated(text: str, pattern: "re.Pattern[str]") -> List[str]:
    """`Split` with behavior "Isolated": matches and the gaps between them."""
    out: List[str] = []
    prev = 0
    for m in pattern.finditer(text):
        if prev < m.start():
            out.append(text[prev:m.start()])
        if m.end() > m.start():
            out.append(m.group(0))
        prev = m.end()
    if prev < len(text):
        out.append(text[prev:])
    return out


class ByteLevelBPETokenizer:
    """Byte-level BPE tokenizer reading/writing Hugging Face tokenizer.json.

    Supports the layout build_tiny writes (Split + ByteLevel pre-tokenizer,
    BPE model without byte fallback), which is also the layout of Qwen2-style
    tokenizers whose split regex Python's `re` can compile.
    """

    def __init__(self, tokenizer_json: Dict[str, Any], tokenizer_config: Optional[Dict[str, Any]] = None):
        self.tokenizer_json = tokenizer_json
        self.tokenizer_config = dict(tokenizer_config or {})
        model = tokenizer_json.get("model") or {}
        if model.get("type") not in (None, "BPE") or "merges" not in model:
            raise ValueError("tokenizer.json: only BPE models are supported")
        self.vocab: Dict[str, int] = dict(model["vocab"])
        merges = model["merges"]
        pairs = [tuple(m.split(" ", 1)) if isinstance(m, str) else tuple(m) for m in merges]
        self.bpe_ranks: Dict[Tuple[str, str], int] = {p: i for i, p in enumerate(pairs)}  # type: ignore[misc]
        self.added_tokens: List[Dict[str, Any]] = list(tokenizer_json.get("added_tokens") or [])
        for t in self.added_tokens:
            self.vocab[t["content"]] = t["id"]
        self.id_to_token: Dict[int, str] = {i: t for t, i in self.vocab.items()}
        self.special_tokens = {t["content"] for t in self.added_tokens if t.get("special")}
        self._added_contents = {t["content"] for t in self.added_tokens}
        self.all_special_ids = sorted(self.vocab[t] for t in self.special_tokens)
        if self.added_tokens:
            alts = sorted((t["content"] for t in self.added_tokens), key=len, reverse=True)
            self._added_re: Optional[re.Pattern[str]] = re.compile("|".join(re.escape(a) for a in alts))
        else:
            self._added_re = None
        self._split_res: List[Tuple[re.Pattern[str], bool]] = []
        self._parse_pre_tokenizer(tokenizer_json.get("pre_tokenizer"))
        self._cache: Dict[str, List[str]] = {}
        self.chat_template: Optional[str] = self.tokenizer_config.get("chat_template")

    # -- configuration -----------------------------------------------------
    def _parse_pre_tokenizer(self, pre: Optional[Dict[str, Any]]) -> None:
        if pre is None:
            return
        items = pre["pretokenizers"] if pre.get("type") == "Sequence" else [pre]
        for item in items:
            kind = item.get("type")
            if kind == "Split":
                pat = item["pattern"].get("Regex")
                if pat is None:
                    pat = re.escape(item["pattern"]["String"])
                if item.get("invert") or str(item.get("behavior", "Isolated")).lower() != "isolated":
                    raise ValueError("tokenizer.json: only Split with behavior Isolated, invert false is supported")
                try:
                    self._split_res.append((re.compile(pat), True))
                except re.error as err:
                    raise ValueError(f"tokenizer.json: split regex not supported by Python re: {err}") from err
            elif kind == "ByteLevel":
                if item.get("add_prefix_space"):
                    raise ValueError("tokenizer.json: ByteLevel add_prefix_space is not supported")
                if item.get("use_regex", True):
                    raise ValueError("tokenizer.json: ByteLevel use_regex=true needs \\p{L} regexes; not supported")
            else:
                raise ValueError(f"tokenizer.json: pre-tokenizer {kind!r} is not supported")

    @property
    def vocab_size(self) -> int:
        return max(self.id_to_token) + 1

    def _special_id(self, key: str) -> Optional[int]:
        tok = self.tokenizer_config.get(key)
        if isinstance(tok, dict):
            tok = tok.get("content")
        return self.vocab.get(tok) if tok else None

    @property
    def eos_token(self) -> Optional[str]:
        t = self.tokenizer_config.get("eos_token")
        return t.get("content") if isinstance(t, dict) else t

    @property
    def pad_token(self) -> Optional[str]:
        t = self.tokenizer_config.get("pad_token")
        return t.get("content") if isinstance(t, dict) else t

    @property
    def eos_token_id(self) -> Optional[int]:
        return self._special_id("eos_token")

    @property
    def pad_token_id(self) -> Optional[int]:
        return self._special_id("pad_token")

    @property
    def bos_token_id(self) -> Optional[int]:
        return self._special_id("bos_token")

    # -- encoding ------------------------------------------------------------
    def _bpe(self, word: str) -> List[str]:
        cached = self._cache.get(word)
        if cached is not None:
            return cached
        symbols = list(word)
        while len(symbols) > 1:
            best: Optional[Tuple[int, int]] = None
            for i in range(len(symbols) - 1):
                rank = self.bpe_ranks.get((symbols[i], symbols[i + 1]))
                if rank is not None and (best is None or rank < best[0]):
                    best = (rank, i)
            if best is None:
                break
            pair = (symbols[best[1]], symbols[best[1] + 1])
            merged: List[str] = []
            i = 0
            while i < len(symbols):
                if i < len(symbols) - 1 and (symbols[i], symbols[i + 1]) == pair:
                    merged.append(symbols[i] + symbols[i + 1])
                    i += 2
                else:
                    merged.append(symbols[i])
                    i += 1
            symbols = merged
        if len(word) < 256 and len(self._cache) < 100_000:
            self._cache[word] = symbols
        return symbols

    def _pre_tokenize(self, text: str) -> List[str]:
        pieces = [text]
        for pattern, _ in self._split_res:
            pieces = [p for piece in pieces for p in _regex_split_isolated(piece, pattern)]
        return ["".join(_BYTE_ENCODER[b] for b in p.encode("utf-8")) for p in pieces if p]

    def encode(self, text: str, add_special_tokens: bool = False) -> List[int]:
        """Token ids of `text`. Special token strings in the text map to their ids."""
        ids: List[int] = []
        if add_special_tokens and self.bos_token_id is not None and self.tokenizer_config.get("add_bos_token"):
            ids.append(self.bos_token_id)
        segments: List[Tuple[str, bool]] = []
        if self._added_re is not None:
            prev = 0
            for m in self._added_re.finditer(text):
                if prev < m.start():
                    segments.append((text[prev:m.start()], False))
                segments.append((m.group(0), True))
                prev = m.end()
            if prev < len(text):
                segments.append((text[prev:], False))
        else:
            segments.append((text, False))
        for seg, is_added in segments:
            if is_added:
                ids.append(self.vocab[seg])
                continue
            for word in self._pre_tokenize(seg):
                for tok in self._bpe(word):
                    tid = self.vocab.get(tok)
                    if tid is None:
                        raise ValueError(f"token {tok!r} missing from the vocabulary")
                    ids.append(tid)
        return ids

    def __call__(self, text: str, add_special_tokens: bool = False) -> Dict[str, List[int]]:
        ids = self.encode(text, add_special_tokens=add_special_tokens)
        return {"input_ids": ids, "attention_mask": [1] * len(ids)}

    def convert_ids_to_tokens(self, ids: Iterable[int]) -> List[str]:
        return [self.id_to_token[int(i)] for i in ids]

    def decode(self, ids: Iterable[int], skip_special_tokens: bool = False) -> str:
        out: List[str] = []
        buf = bytearray()
        for i in ids:
            tok = self.id_to_token.get(int(i))
            if tok is None:
                continue
            if tok in self._added_contents:
                if buf:
                    out.append(buf.decode("utf-8", errors="replace"))
                    buf = bytearray()
                if not (skip_special_tokens and tok in self.special_tokens):
                    out.append(tok)
                continue
            buf.extend(_BYTE_DECODER[c] for c in tok)
        if buf:
            out.append(buf.decode("utf-8", errors="replace"))
        return "".join(out)

    # -- chat template -------------------------------------------------------
    def apply_chat_template(self, messages: Sequence[Dict[str, Any]], add_generation_prompt: bool = True,
                            tokenize: bool = False) -> Any:
        """Renders the chat template (ChatML for the tiny model).

        Uses jinja2 when it is installed; without it, the built-in ChatML
        renderer handles the template build_tiny writes.
        """
        template = self.chat_template or CHATML_TEMPLATE
        text: Optional[str] = None
        try:
            from jinja2.sandbox import ImmutableSandboxedEnvironment  # type: ignore

            env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
            text = env.from_string(template).render(
                messages=list(messages), add_generation_prompt=add_generation_prompt,
                eos_token=self.eos_token, bos_token="", pad_token=self.pad_token)
        except ImportError:
            if template != CHATML_TEMPLATE:
                raise RuntimeError("this chat_template needs jinja2: pip install jinja2")
            parts = [f"{IM_START}{m['role']}\n{m.get('content') or ''}{IM_END}\n" for m in messages]
            if add_generation_prompt:
                parts.append(f"{IM_START}assistant\n")
            text = "".join(parts)
        return self.encode(text) if tokenize else text

    # -- persistence ---------------------------------------------------------
    def save(self, folder: str) -> None:
        os.makedirs(folder, exist_ok=True)
        _write_json(os.path.join(folder, "tokenizer.json"), self.tokenizer_json)
        cfg = dict(self.tokenizer_config)
        if self.chat_template is not None:
            cfg["chat_template"] = self.chat_template
        _write_json(os.path.join(folder, "tokenizer_config.json"), cfg)

    @classmethod
    def from_folder(cls, folder: str) -> "ByteLevelBPETokenizer":
        tj = _read_json(os.path.join(folder, "tokenizer.json"))
        cfg_path = os.path.join(folder, "tokenizer_config.json")
        cfg = _read_json(cfg_path) if os.path.exists(cfg_path) else {}
        return cls(tj, cfg)


def _train_bpe_merges(corpus: str, num_merges: int) -> List[Tuple[str, str]]:
    """Plain BPE training over pre-tokenized words (deterministic tie-break)."""
    pattern = re.compile(SPLIT_PATTERN)
    counts: Dict[Tuple[str, ...], int] = {}
    for piece in _regex_split_isolated(corpus, pattern):
        word = tuple(_BYTE_ENCODER[b] for b in piece.encode("utf-8"))
        counts[word] = counts.get(word, 0) + 1
    merges: List[Tuple[str, str]] = []
    words = dict(counts)
    for _ in range(num_merges):
        pair_counts: Dict[Tuple[str, str], int] = {}
        for word, c in words.items():
            for a, b in zip(word, word[1:]):
                pair_counts[(a, b)] = pair_counts.get((a, b), 0) + c
        if not pair_counts:
            break
        best = min(pair_counts.items(), key=lambda kv: (-kv[1], kv[0]))[0]
        merges.append(best)
        new_words: Dict[Tuple[str, ...], int] = {}
        for word, c in words.items():
            out: List[str] = []
            i = 0
            while i < len(word):
                if i < len(word) - 1 and (word[i], word[i + 1]) == best:
                    out.append(word[i] + word[i + 1])
                    i += 2
                else:
                    out.append(word[i])
                    i += 1
            key = tuple(out)
            new_words[key] = new_words.get(key, 0) + c
        words = new_words
    return merges


# A small built-in corpus: the token shapes an SWE agent reads and writes.
_CORPUS_BASE = """\
def test_add():
    assert add(1, 2) == 3

def add(a, b):
    return a + b

class Stack:
    def __init__(self):
        self.items = []

    def push(self, item):
        self.items.append(item)

    def pop(self):
        if not self.items:
            raise IndexError("pop from empty stack")
        return self.items.pop()

import os
import sys
from typing import List, Optional

for i in range(10):
    if i % 2 == 0:
        print(i)

$ ls -la
$ cat README.md
$ python -m pytest -q tests/
$ git diff
$ grep -rn "def " src/
"""

_CHAT_SAMPLES = [
    ("Fix the failing test in tests/test_math.py.", "<tool: bash>\npython -m pytest -q tests/test_math.py\n</tool>"),
    ("List the files in the repository.", "<tool: bash>\nls -la\n</tool>"),
    ("Show the source of src/stack.py.", "<tool: bash>\ncat src/stack.py\n</tool>"),
    ("Find where add is defined.", "<tool: bash>\ngrep -rn \"def add\" .\n</tool>"),
    ("Run the tests.", "<tool: bash>\npython -m pytest -q\n</tool>"),
    ("The tests pass now.", "<tool: submit>\n</tool>"),
]


def _chat_corpus() -> str:
    parts = []
    for user, assistant in _CHAT_SAMPLES:
        parts.append(f"{IM_START}system\nYou are a helpful software engineer.{IM_END}\n"
                     f"{IM_START}user\n{user}{IM_END}\n{IM_START}assistant\n{assistant}{IM_END}\n")
    return "".join(parts)


def make_tokenizer(num_merges: int = 253) -> ByteLevelBPETokenizer:
    """The tiny tokenizer: 256 byte tokens + `num_merges` merges + 3 special tokens."""
    corpus = _CORPUS_BASE + _chat_corpus().replace(IM_START, "").replace(IM_END, "")
    merges = _train_bpe_merges(corpus, num_merges)
    vocab: Dict[str, int] = {_BYTE_ENCODER[b]: b for b in range(256)}
    for a, b in merges:
        tok = a + b
        if tok not in vocab:
            vocab[tok] = len(vocab)
    specials = []
    for content in SPECIAL_TOKENS:
        specials.append({"id": len(vocab) + len(specials), "content": content, "single_word": False,
                         "lstrip": False, "rstrip": False, "normalized": False, "special": True})
    byte_level = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False}
    tokenizer_json = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": specials,
        "normalizer": None,
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": SPLIT_PATTERN}, "behavior": "Isolated", "invert": False},
            byte_level,
        ]},
        "post_processor": dict(byte_level),
        "decoder": dict(byte_level),
        "model": {
            "type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
            "end_of_word_suffix": "", "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
            "vocab": vocab, "merges": [f"{a} {b}" for a, b in merges],
        },
    }
    tokenizer_config = {
        "add_bos_token": False,
        "add_eos_token": False,
        "added_tokens_decoder": {str(t["id"]): {k: v for k, v in t.items() if k != "id"} for t in specials},
        "additional_special_tokens": [IM_START, IM_END],
        "bos_token": None,
        "chat_template": CHATML_TEMPLATE,
        "clean_up_tokenization_spaces": False,
        "eos_token": IM_END,
        "errors": "replace",
        "model_max_length": 32768,
        "pad_token": ENDOFTEXT,
        "split_special_tokens": False,
        "tokenizer_class": "PreTrainedTokenizerFast",
        "unk_token": None,
    }
    return ByteLevelBPETokenizer(tokenizer_json, tokenizer_config)


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
    text = _chat_corpus() + _CORPUS_BASE
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


def _read_json(path: str) -> Any:
    with open(path, "r", encoding="utf-8") as f:
        return json.load(f)


def _write_json(path: str, data: Any) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2, ensure_ascii=False)
        f.write("\n")
    os.replace(tmp, path)


_ST_DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16, "F64": torch.float64,
              "I64": torch.int64, "I32": torch.int32}


def _read_safetensors(path: str) -> Dict[str, torch.Tensor]:
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        data = f.read()
    out: Dict[str, torch.Tensor] = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        dtype = _ST_DTYPES.get(meta["dtype"])
        if dtype is None:
            raise ValueError(f"{path}: dtype {meta['dtype']} not supported")
        start, end = meta["data_offsets"]
        t = torch.frombuffer(bytearray(data[start:end]), dtype=dtype) if end > start else torch.empty(0, dtype=dtype)
        out[name] = t.reshape(meta["shape"]).clone()
    return out


def _load_weights(folder: str) -> Dict[str, torch.Tensor]:
    def load_one(path: str) -> Dict[str, torch.Tensor]:
        if path.endswith(".safetensors"):
            return _read_safetensors(path)
        return torch.load(path, map_location="cpu")

    for single in ("model.safetensors", "pytorch_model.bin"):
        p = os.path.join(folder, single)
        if os.path.exists(p):
            return load_one(p)
    for index in ("model.safetensors.index.json", "pytorch_model.bin.index.json"):
        p = os.path.join(folder, index)
        if os.path.exists(p):
            files = sorted(set(_read_json(p)["weight_map"].values()))
            sd: Dict[str, torch.Tensor] = {}
            for name in files:
                sd.update(load_one(os.path.join(folder, name)))
            return sd
    raise FileNotFoundError(f"{folder}: no model.safetensors or pytorch_model.bin")


def load_model(folder: str, device: str = "cpu", dtype: Optional[torch.dtype] = None):
    """Loads (model, tokenizer) from a Hugging Face Llama-layout folder."""
    config_path = os.path.join(folder, "config.json")
    if not os.path.exists(config_path):
        raise FileNotFoundError(f"{folder}: no config.json (is this a model folder?)")
    config = LlamaConfig.from_dict(_read_json(config_path))
    model = LlamaForCausalLM(config)
    model.load_hf_state_dict(_load_weights(folder))
    gc_path = os.path.join(folder, "generation_config.json")
    if os.path.exists(gc_path):
        model.generation_config = _read_json(gc_path)
    if dtype is not None:
        model = model.to(dtype)
    model = model.to(device)
    model.eval()
    tokenizer = ByteLevelBPETokenizer.from_folder(folder)
    return model, tokenizer


_ST_NAMES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.float64: "F64"}


def _write_safetensors(path: str, sd: Dict[str, torch.Tensor]) -> None:
    header: Dict[str, Any] = {"__metadata__": {"format": "pt"}}
    blobs: List[bytes] = []
    offset = 0
    for name in sorted(sd):
        t = sd[name].detach().contiguous().cpu()
        if t.dtype not in _ST_NAMES:
            raise ValueError(f"{name}: dtype {t.dtype} not supported for safetensors")
        data = t.view(torch.uint8).numpy().tobytes() if t.numel() else b""
        header[name] = {"dtype": _ST_NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    raw = json.dumps(header, separators=(",", ":")).encode("utf-8")
    raw += b" " * ((8 - len(raw) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for b in blobs:
            f.write(b)


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
    _write_json(os.path.join(folder, "config.json"), cfg)
    gen_cfg = dict(model.generation_config or default_generation_config(tokenizer))
    _write_json(os.path.join(folder, "generation_config.json"), gen_cfg)
    tokenizer.save(folder)
    target = "pytorch_model.bin" if weights_format == "bin" else "model.safetensors"
    tmp = os.path.join(folder, target + ".tmp")
    if weights_format == "bin":
        torch.save(model.hf_state_dict(), tmp)
    else:
        _write_safetensors(tmp, model.hf_state_dict())
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
