"""Byte-level BPE tokenizer reading and writing the Hugging Face `tokenizers` JSON format.

The pre-tokenizer is a Split regex + ByteLevel (like Qwen2), so it encodes any
text; the special tokens and the ChatML chat template are those of the tiny
model (tiny_model.py, whose vocabulary tiny_vocab.py trains).
"""

from __future__ import annotations

import os
import re
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

from .hf_files import read_json, write_json

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
        write_json(os.path.join(folder, "tokenizer.json"), self.tokenizer_json)
        cfg = dict(self.tokenizer_config)
        if self.chat_template is not None:
            cfg["chat_template"] = self.chat_template
        write_json(os.path.join(folder, "tokenizer_config.json"), cfg)

    @classmethod
    def from_folder(cls, folder: str) -> "ByteLevelBPETokenizer":
        tj = read_json(os.path.join(folder, "tokenizer.json"))
        cfg_path = os.path.join(folder, "tokenizer_config.json")
        cfg = read_json(cfg_path) if os.path.exists(cfg_path) else {}
        return cls(tj, cfg)
