"""Reading a run's trajectories.jsonl and turning records into training sequences.

One line of trajectories.jsonl is a `TrajectoryRecord` (src/core/base/trajectory.ts):
    {id, role: 'injector'|'solver', group, reward, messages: [...],
     tokens: [{messageIndex, tokenIds?, logprobs?, promptTokenIds?}], policy, ...}

Sequences are built from the policy's own tokens: for each assistant turn the
prompt it was sampled from (`promptTokenIds`) followed by the sampled
completion (`tokenIds`). Only completion tokens carry loss; prompt, system,
user and tool-observation tokens are masked. Consecutive turns whose prompts
extend the previous prompt+completion (the usual multi-turn case) are merged
into one sequence, so each token is processed once.

When a turn has no token ids the messages are re-tokenised with the model's
tokenizer (its chat template); those tokens are trained on-policy (no ratio)
because the sampling log-probs, if any, belong to other tokens.

Pure Python: no torch import here.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence as Seq, Tuple

from .deps import BadInput

ROLES = ("injector", "solver")


@dataclass
class Record:
    line: int  # 1-based line number in trajectories.jsonl
    id: str
    role: str
    group: str
    reward: float
    messages: List[Dict[str, Any]]
    tokens: List[Dict[str, Any]]
    # The policy version that sampled this trajectory: {"model": name or path, "step": updates so far}
    # (src/core/base/trajectory.ts `PolicyVersion`); None for records written before versions existed.
    policy_version: Optional[Dict[str, Any]] = None
    # Temperature of the distribution the rollout log-probs were taken from (the sampling temperature
    # for the onnx policy; 1.0 for servers that report raw log-probs). The trainer scores tokens at
    # this temperature so that the PPO ratio compares like with like. 0 (greedy) counts as 1.
    temperature: float = 1.0
    # Turns whose log-probs came without token ids (a server that was not asked, or cannot give them):
    # those turns are re-tokenised and trained on-policy.
    logprobs_without_ids: int = 0

    @property
    def version_step(self) -> Optional[int]:
        v = self.policy_version
        if isinstance(v, dict) and isinstance(v.get("step"), int):
            return int(v["step"])
        return None


@dataclass
class TrainSequence:
    record: int  # index into the records list
    input_ids: List[int]
    loss_mask: List[int]  # 1 where the token was sampled by the policy (assistant turn), else 0
    old_logprobs: List[float]  # sampling log-prob of input_ids[t]; 0.0 where unknown
    has_old: List[int]  # 1 where old_logprobs[t] is a real rollout log-prob
    retokenised: bool = False
    truncated_tokens: int = 0  # loss tokens dropped by --max-len
    temperature: float = 1.0  # the record's log-prob temperature (see Record.temperature)

    def __len__(self) -> int:
        return len(self.input_ids)

    @property
    def n_loss_tokens(self) -> int:
        return sum(self.loss_mask)


@dataclass
class BuildStats:
    records: int = 0
    sequences: int = 0
    turns: int = 0
    retokenised_turns: int = 0
    retokenised_records: int = 0
    turns_with_logprobs: int = 0
    turns_without_prompt_ids: int = 0
    merged_turns: int = 0
    truncated_sequences: int = 0
    truncated_loss_tokens: int = 0
    left_truncated_sequences: int = 0  # prompt longer than max_len: cut on the left, completion kept
    dropped_sequences: int = 0  # no loss token left (empty completion, or cut by max-len)
    loss_tokens: int = 0
    notes: List[str] = field(default_factory=list)


def _bad(path: str, line: int, msg: str) -> BadInput:
    return BadInput(f"{path}: line {line}: {msg}")


def trajectories_path(run: str) -> str:
    """RUN_DIR/trajectories.jsonl, or RUN itself when it is a file."""
    if os.path.isdir(run):
        return os.path.join(run, "trajectories.jsonl")
    return run


def count_lines(run: str) -> int:
    """Complete lines (ending in a newline) of RUN/trajectories.jsonl: the data cursor of an update."""
    path = trajectories_path(run)
    if not os.path.exists(path):
        return 0
    with open(path, "rb") as fh:
        return sum(1 for raw in fh if raw.endswith(b"\n"))


def read_records(run: str, skip_bad_lines: bool = False, warn: Optional[Callable[[str], None]] = None, max_lines: Optional[int] = None) -> List[Record]:
    """Reads and validates trajectories.jsonl; raises BadInput naming the bad line.

    `max_lines`: read only the first N lines (a resumed update reads exactly what it started with,
    even when the session appended more since)."""
    path = trajectories_path(run)
    if not os.path.exists(path):
        if os.path.isdir(run) or not run.endswith(".jsonl"):
            raise BadInput(f"no trajectories.jsonl in {run} (expected {path}); is this a run folder?")
        raise BadInput(f"{path} does not exist")
    records: List[Record] = []
    with open(path, "rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            if max_lines is not None and lineno > max_lines:
                break
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as err:
                e = _bad(path, lineno, f"not valid UTF-8 ({err})")
                if skip_bad_lines:
                    warn and warn(f"skipping {e.message}")
                    continue
                raise e from None
            if not text.strip():
                continue
            try:
                obj = json.loads(text)
                records.append(_validate(obj, lineno, path))
            except BadInput as e:
                if skip_bad_lines:
                    warn and warn(f"skipping {e.message}")
                    continue
                raise
            except json.JSONDecodeError as err:
                e = _bad(path, lineno, f"not valid JSON ({err.msg} at column {err.colno}): {text.strip()[:80]!r}")
                if skip_bad_lines:
                    warn and warn(f"skipping {e.message}")
                    continue
                raise e from None
    if not records:
        raise BadInput(f"{path} holds no trajectories (the file is empty{' or every line was bad' if skip_bad_lines else ''}); run self-play first")
    return records


def _validate(obj: Any, lineno: int, path: str) -> Record:
    if not isinstance(obj, dict):
        raise _bad(path, lineno, f"expected a JSON object, got {type(obj).__name__}")
    rid = obj.get("id")
    if not isinstance(rid, str) or not rid:
        rid = f"line{lineno}"
    role = obj.get("role")
    if role not in ROLES:
        raise _bad(path, lineno, f"role must be 'injector' or 'solver', got {role!r}")
    group = obj.get("group")
    if group is None or group == "":
        # Derive the GRPO group from the other fields, as the session would.
        if role == "solver" and obj.get("bugId"):
            group = f"solve:{obj['bugId']}"
        elif role == "injector" and obj.get("round") is not None:
            group = f"inject:{obj['round']}"
        else:
            raise _bad(path, lineno, "missing 'group' (and no bugId/round to derive it from)")
    if not isinstance(group, str):
        group = str(group)
    reward = obj.get("reward")
    if isinstance(reward, bool) or not isinstance(reward, (int, float)) or not math.isfinite(float(reward)):
        raise _bad(path, lineno, f"reward must be a finite number, got {reward!r}")
    messages = obj.get("messages")
    if not isinstance(messages, list) or not messages:
        raise _bad(path, lineno, "messages must be a non-empty array of chat messages")
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or m.get("role") not in ("system", "user", "assistant", "tool"):
            raise _bad(path, lineno, f"messages[{i}] is not a chat message with role system|user|assistant|tool")
        c = m.get("content")
        if c is None:
            m["content"] = ""
        elif not isinstance(c, str):
            raise _bad(path, lineno, f"messages[{i}].content must be a string")
    tokens = obj.get("tokens") or []
    if not isinstance(tokens, list):
        raise _bad(path, lineno, "tokens must be an array")
    without_ids = 0
    for j, t in enumerate(tokens):
        if not isinstance(t, dict):
            raise _bad(path, lineno, f"tokens[{j}] must be an object")
        mi = t.get("messageIndex")
        if isinstance(mi, bool) or not isinstance(mi, int) or not 0 <= mi < len(messages):
            raise _bad(path, lineno, f"tokens[{j}].messageIndex {mi!r} is not an index into messages (0..{len(messages) - 1})")
        if messages[mi].get("role") != "assistant":
            raise _bad(path, lineno, f"tokens[{j}].messageIndex {mi} points at a {messages[mi].get('role')} message, not an assistant turn")
        for key in ("tokenIds", "promptTokenIds"):
            ids = t.get(key)
            if ids is None:
                continue
            if not isinstance(ids, list) or not all(isinstance(x, int) and not isinstance(x, bool) and x >= 0 for x in ids):
                raise _bad(path, lineno, f"tokens[{j}].{key} must be an array of non-negative integers")
        lp = t.get("logprobs")
        if lp is not None:
            if not isinstance(lp, list) or not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in lp):
                raise _bad(path, lineno, f"tokens[{j}].logprobs must be an array of numbers")
            if not t.get("tokenIds"):
                # Log-probs without the ids they belong to (a server that gives none): the turn stays
                # trainable, re-tokenised from its message and trained on-policy (no PPO ratio).
                without_ids += 1
                t.pop("logprobs", None)
                t.pop("tokenIds", None)
                continue
            if len(lp) != len(t["tokenIds"]):
                raise _bad(path, lineno, f"tokens[{j}].logprobs has {len(lp)} entries but tokenIds has {len(t['tokenIds'])}")
            if any(not math.isfinite(float(x)) or float(x) > 1e-3 for x in lp):
                raise _bad(path, lineno, f"tokens[{j}].logprobs must be finite log-probabilities (<= 0)")
    version = obj.get("policyVersion")
    if version is None and isinstance(obj.get("policy"), dict):
        version = obj["policy"].get("version")
    if version is not None and not isinstance(version, dict):
        version = {"model": str(version)}
    temperature = 1.0
    temps = [t.get("temperature") for t in tokens if isinstance(t.get("temperature"), (int, float)) and not isinstance(t.get("temperature"), bool)]
    if temps:
        temperature = float(temps[0])
    if not math.isfinite(temperature) or temperature <= 0:
        temperature = 1.0
    return Record(line=lineno, id=rid, role=role, group=group, reward=float(reward), messages=messages, tokens=tokens,
                  policy_version=version, temperature=temperature, logprobs_without_ids=without_ids)


# ----------------------------------------------------------------------------------------------
# Tokenisation helpers (work with the tiny model's tokenizer and with Hugging Face tokenizers)


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


# ----------------------------------------------------------------------------------------------


def _record_turns(rec: Record) -> List[Dict[str, Any]]:
    """The assistant turns to train on, in message order; turns without token entries are added for re-tokenisation."""
    by_index = {t["messageIndex"]: t for t in rec.tokens}
    turns = []
    for i, m in enumerate(rec.messages):
        if m["role"] != "assistant":
            continue
        turns.append(by_index.get(i, {"messageIndex": i}))
    return turns


def build_sequences(
    records: Seq[Record],
    tokenizer: Any,
    max_len: int,
    vocab_size: Optional[int] = None,
    include: Optional[Callable[[int], bool]] = None,
    warn: Optional[Callable[[str], None]] = None,
    source: str = "trajectories.jsonl",
) -> Tuple[List[TrainSequence], BuildStats]:
    """Builds training sequences for records[i] where include(i) (default: all)."""
    chat = ChatTokenizer(tokenizer, warn)
    stats = BuildStats()
    seqs: List[TrainSequence] = []
    for ri, rec in enumerate(records):
        if include is not None and not include(ri):
            continue
        stats.records += 1
        cur: Optional[TrainSequence] = None
        rec_seqs: List[TrainSequence] = []
        retok_any = False
        for turn in _record_turns(rec):
            mi = turn["messageIndex"]
            stats.turns += 1
            comp = turn.get("tokenIds")
            prompt = turn.get("promptTokenIds")
            logprobs = turn.get("logprobs")
            retok = False
            if comp is None or len(comp) == 0 and (rec.messages[mi].get("content") or ""):
                p, comp = chat.turn(rec.messages, mi)
                prompt = p if prompt is None else prompt
                logprobs = None
                retok = True
            elif prompt is None:
                prompt = chat.prompt(rec.messages[:mi])
                stats.turns_without_prompt_ids += 1
            if retok:
                stats.retokenised_turns += 1
                retok_any = True
            if logprobs is not None:
                stats.turns_with_logprobs += 1
            if vocab_size is not None:
                bad = next((x for x in list(prompt) + list(comp) if x >= vocab_size), None)
                if bad is not None:
                    raise BadInput(
                        f"{source}: line {rec.line}: token id {bad} is out of range for the model's vocabulary ({vocab_size}); "
                        "were these trajectories sampled with a different model/tokenizer?"
                    )
            if cur is not None and len(prompt) >= len(cur.input_ids) and list(prompt[: len(cur.input_ids)]) == cur.input_ids:
                stats.merged_turns += 1
                ext = list(prompt[len(cur.input_ids):])
            else:
                if cur is not None:
                    rec_seqs.append(cur)
                cur = TrainSequence(record=ri, input_ids=[], loss_mask=[], old_logprobs=[], has_old=[], temperature=rec.temperature)
                ext = list(prompt)
            cur.input_ids += ext
            cur.loss_mask += [0] * len(ext)
            cur.old_logprobs += [0.0] * len(ext)
            cur.has_old += [0] * len(ext)
            cur.input_ids += list(comp)
            cur.loss_mask += [1] * len(comp)
            if logprobs is not None:
                cur.old_logprobs += [float(x) for x in logprobs]
                cur.has_old += [1] * len(comp)
            else:
                cur.old_logprobs += [0.0] * len(comp)
                cur.has_old += [0] * len(comp)
            cur.retokenised = cur.retokenised or retok
        if cur is not None:
            rec_seqs.append(cur)
        if retok_any:
            stats.retokenised_records += 1
        for s in rec_seqs:
            if s.loss_mask and s.loss_mask[0]:
                s.loss_mask[0] = 0  # a first token has no context to be predicted from
                s.has_old[0] = 0
            first_loss = next((i for i, m in enumerate(s.loss_mask) if m), None)
            if len(s.input_ids) > max_len and first_loss is not None and first_loss >= max_len - 1:
                # The prompt alone is longer than max_len (a long agent prompt): cut it on the left
                # (the earliest context goes, the completion stays), half a window of context kept.
                # Positions shift, so rollout log-probs no longer apply: these tokens train on-policy.
                start = max(0, first_loss - max_len // 2)
                s.input_ids, s.loss_mask = s.input_ids[start:], s.loss_mask[start:]
                s.old_logprobs, s.has_old = s.old_logprobs[start:], [0] * (len(s.input_ids))
                stats.left_truncated_sequences += 1
            if len(s.input_ids) > max_len:
                dropped = sum(s.loss_mask[max_len:])
                s.input_ids, s.loss_mask = s.input_ids[:max_len], s.loss_mask[:max_len]
                s.old_logprobs, s.has_old = s.old_logprobs[:max_len], s.has_old[:max_len]
                s.truncated_tokens = dropped
                stats.truncated_sequences += 1
                stats.truncated_loss_tokens += dropped
            if s.n_loss_tokens == 0:
                stats.dropped_sequences += 1
                continue
            stats.loss_tokens += s.n_loss_tokens
            seqs.append(s)
    stats.sequences = len(seqs)
    return seqs, stats
