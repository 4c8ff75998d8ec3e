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

Reading and validating the file is records.py; the chat-template tokenisation
is chat_tokens.py (both re-exported here). Pure Python: no torch import here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence as Seq, Tuple

from .chat_tokens import ChatTokenizer, encode
from .deps import BadInput
from .records import ROLES, Record, count_lines, read_records, trajectories_path

__all__ = ["ROLES", "Record", "TrainSequence", "BuildStats", "trajectories_path", "count_lines", "read_records",
           "encode", "ChatTokenizer", "build_sequences"]


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
        for s in _record_sequences(ri, rec, chat, vocab_size, source, stats):
            if _fit(s, max_len, stats):
                stats.loss_tokens += s.n_loss_tokens
                seqs.append(s)
    stats.sequences = len(seqs)
    return seqs, stats


def _record_sequences(ri: int, rec: Record, chat: ChatTokenizer, vocab_size: Optional[int], source: str,
                      stats: BuildStats) -> List[TrainSequence]:
    """One record's turns as sequences: a turn whose prompt extends the sequence so far is merged into it."""
    cur: Optional[TrainSequence] = None
    rec_seqs: List[TrainSequence] = []
    retok_any = False
    for turn in _record_turns(rec):
        prompt, comp, logprobs, retok = _turn_tokens(rec, turn, chat, stats)
        retok_any = retok_any or retok
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
        _append_turn(cur, ext, comp, logprobs, retok)
    if cur is not None:
        rec_seqs.append(cur)
    if retok_any:
        stats.retokenised_records += 1
    return rec_seqs


def _turn_tokens(rec: Record, turn: Dict[str, Any], chat: ChatTokenizer, stats: BuildStats):
    """(prompt ids, completion ids, rollout log-probs or None, re-tokenised?) of one assistant turn."""
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
    if logprobs is not None:
        stats.turns_with_logprobs += 1
    return prompt, comp, logprobs, retok


def _append_turn(cur: TrainSequence, ext: List[int], comp: Seq[int], logprobs: Optional[Seq[float]], retok: bool) -> None:
    """Appends the new context (masked) and the completion (loss tokens, with their rollout log-probs if any)."""
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


def _fit(s: TrainSequence, max_len: int, stats: BuildStats) -> bool:
    """Masks the first token and fits `s` into max_len tokens; False when no loss token is left."""
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
        return False
    return True
