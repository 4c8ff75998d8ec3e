"""Token ids of chat messages: the model's chat template, or a plain layout when it fails.

Works with the tiny model's tokenizer and with Hugging Face tokenizers. Used
to re-tokenise turns that were recorded without token ids (data.py).
Pure Python: no torch import here.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Sequence as Seq, Tuple


def encode(tokenizer: Any, text: str) -> List[int]:
    """Token ids of `text` without added BOS/EOS (Hugging Face tokenizers add them by default)."""
    try:
        return [int(x) for x in tokenizer.encode(text, add_special_tokens=False)]
    except TypeError:
        return [int(x) for x in tokenizer.encode(text)]


def _to_ids(tokenizer: Any, out: Any) -> List[int]:
    if isinstance(out, str):
        return encode(tokenizer, out)
    if isinstance(out, dict) or hasattr(out, "input_ids") and not isinstance(out, list):
        out = out["input_ids"] if isinstance(out, dict) else out.input_ids
    if hasattr(out, "tolist"):
        out = out.tolist()
    if out and isinstance(out[0], list):  # batched
        out = out[0]
    return [int(x) for x in out]


def _plain_messages(messages: Seq[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """Messages as chat templates expect them: role + content (+ tool_calls / tool_call_id kept)."""
    out = []
    for m in messages:
        d = {"role": m["role"], "content": m.get("content") or ""}
        if m.get("tool_calls"):
            d["tool_calls"] = m["tool_calls"]
        if m.get("tool_call_id"):
            d["tool_call_id"] = m["tool_call_id"]
        out.append(d)
    return out


class ChatTokenizer:
    """Wraps a tokenizer's chat template; falls back to a plain 'role: content' layout when the template fails."""

    def __init__(self, tokenizer: Any, warn: Optional[Callable[[str], None]] = None):
        self.tok = tokenizer
        self.warn = warn
        self._fallback = False

    def _template(self, messages: Seq[Dict[str, Any]], add_generation_prompt: bool) -> List[int]:
        if not self._fallback and hasattr(self.tok, "apply_chat_template"):
            try:
                return _to_ids(self.tok, self.tok.apply_chat_template(_plain_messages(messages), add_generation_prompt=add_generation_prompt))
            except Exception as err:  # noqa: BLE001 - templates raise all sorts of things
                self._fallback = True
                if self.warn:
                    self.warn(f"the tokenizer's chat template failed ({type(err).__name__}: {err}); re-tokenising with a plain 'role: content' layout")
        text = "".join(f"{m['role']}: {m.get('content') or ''}\n" for m in messages)
        if add_generation_prompt:
            text += "assistant: "
        bos = getattr(self.tok, "bos_token_id", None)
        return ([bos] if isinstance(bos, int) else []) + encode(self.tok, text)

    def prompt(self, messages: Seq[Dict[str, Any]]) -> List[int]:
        return self._template(messages, True)

    def turn(self, messages: Seq[Dict[str, Any]], index: int) -> Tuple[List[int], List[int]]:
        """(prompt ids, completion ids) for the assistant message at `index`, from the template."""
        prompt = self._template(messages[:index], True)
        full = self._template(messages[: index + 1], False)
        if len(full) > len(prompt) and full[: len(prompt)] == prompt:
            return prompt, full[len(prompt):]
        # Template is not prefix-stable: encode the content and close the turn with EOS.
        completion = encode(self.tok, messages[index].get("content") or "")
        eos = getattr(self.tok, "eos_token_id", None)
        if isinstance(eos, int):
            completion.append(eos)
        return prompt, completion
