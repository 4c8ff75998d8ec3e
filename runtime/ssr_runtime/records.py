"""Reading and validating a run's trajectories.jsonl: one `Record` per line.

One line is a `TrajectoryRecord` (src/core/base/trajectory.ts):
    {id, role: 'injector'|'solver', group, reward, messages: [...],
     tokens: [{messageIndex, tokenIds?, logprobs?, promptTokenIds?}], policy, ...}

A bad line raises BadInput naming the file and the line (or is skipped with a
warning under --skip-bad-lines). Pure Python: no torch import here.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional

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
    group = _group(obj, role, lineno, path)
    reward = obj.get("reward")
    if isinstance(reward, bool) or not isinstance(reward, (int, float)) or not math.isfinite(float(reward)):
        raise _bad(path, lineno, f"reward must be a finite number, got {reward!r}")
    messages = _messages(obj, lineno, path)
    tokens = obj.get("tokens") or []
    if not isinstance(tokens, list):
        raise _bad(path, lineno, "tokens must be an array")
    without_ids = 0
    for j, t in enumerate(tokens):
        without_ids += _token_entry(t, j, messages, lineno, path)
    return Record(line=lineno, id=rid, role=role, group=group, reward=float(reward), messages=messages, tokens=tokens,
                  policy_version=_policy_version(obj), temperature=_temperature(tokens), logprobs_without_ids=without_ids)


def _group(obj: Dict[str, Any], role: str, lineno: int, path: str) -> str:
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
    return group


def _messages(obj: Dict[str, Any], lineno: int, path: str) -> List[Dict[str, Any]]:
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
    return messages


def _token_entry(t: Any, j: int, messages: List[Dict[str, Any]], lineno: int, path: str) -> int:
    """Checks tokens[j]; returns 1 when it carried log-probs without ids (then dropped: the turn is re-tokenised)."""
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
    if lp is None:
        return 0
    if not isinstance(lp, list) or not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in lp):
        raise _bad(path, lineno, f"tokens[{j}].logprobs must be an array of numbers")
    if not t.get("tokenIds"):
        # Log-probs without the ids they belong to (a server that gives none): the turn stays
        # trainable, re-tokenised from its message and trained on-policy (no PPO ratio).
        t.pop("logprobs", None)
        t.pop("tokenIds", None)
        return 1
    if len(lp) != len(t["tokenIds"]):
        raise _bad(path, lineno, f"tokens[{j}].logprobs has {len(lp)} entries but tokenIds has {len(t['tokenIds'])}")
    if any(not math.isfinite(float(x)) or float(x) > 1e-3 for x in lp):
        raise _bad(path, lineno, f"tokens[{j}].logprobs must be finite log-probabilities (<= 0)")
    return 0


def _policy_version(obj: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    version = obj.get("policyVersion")
    if version is None and isinstance(obj.get("policy"), dict):
        version = obj["policy"].get("version")
    if version is not None and not isinstance(version, dict):
        version = {"model": str(version)}
    return version


def _temperature(tokens: List[Dict[str, Any]]) -> float:
    temperature = 1.0
    temps = [t.get("temperature") for t in tokens if isinstance(t.get("temperature"), (int, float)) and not isinstance(t.get("temperature"), bool)]
    if temps:
        temperature = float(temps[0])
    if not math.isfinite(temperature) or temperature <= 0:
        temperature = 1.0
    return temperature
