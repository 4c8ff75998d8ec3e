"""A Llama-architecture causal LM in plain PyTorch, with Hugging Face Llama parameter names.

It mirrors transformers.models.llama.modeling_llama closely enough that a
Hugging Face Llama checkpoint loads into it unchanged (and ONNX export traces
it with dynamic lengths). The tiny model (tiny_model.py) is one of these;
tiny_model's docstring describes the forward() contract.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

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
