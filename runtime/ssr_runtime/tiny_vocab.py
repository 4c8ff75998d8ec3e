"""The tiny model's vocabulary: BPE merges trained on a small built-in corpus.

`make_tokenizer()` returns the ByteLevelBPETokenizer build_tiny saves: 256
byte tokens, the merges learnt from the token shapes an SWE agent reads and
writes (code, shell commands, ChatML turns with tool tags), and the three
special tokens. `chat_corpus()` and CORPUS_BASE are also the text the tiny
model is warmed up on.
"""

from __future__ import annotations

import re
from typing import Dict, List, Tuple

from .bpe_tokenizer import (_BYTE_ENCODER, CHATML_TEMPLATE, ENDOFTEXT, IM_END, IM_START, SPECIAL_TOKENS, SPLIT_PATTERN,
                            ByteLevelBPETokenizer, _regex_split_isolated)

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
CORPUS_BASE = """\
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


def chat_corpus() -> str:
    parts = []
    for user, assistant in _CHAT_SAMPLES:
        parts.append(f"{IM_START}system\nYou are a helpful software engineer.{IM_END}\n"
                     f"{IM_START}user\n{user}{IM_END}\n{IM_START}assistant\n{assistant}{IM_END}\n")
    return "".join(parts)


def make_tokenizer(num_merges: int = 253) -> ByteLevelBPETokenizer:
    """The tiny tokenizer: 256 byte tokens + `num_merges` merges + 3 special tokens."""
    corpus = CORPUS_BASE + chat_corpus().replace(IM_START, "").replace(IM_END, "")
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
