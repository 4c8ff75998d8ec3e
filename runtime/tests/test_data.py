import json

import pytest

from ssr_runtime.data import build_sequences, read_records
from ssr_runtime.deps import BadInput


def _write(tmp_path, lines):
    p = tmp_path / "trajectories.jsonl"
    p.write_text("".join(l if isinstance(l, str) else json.dumps(l) + "\n" for l in lines), encoding="utf-8")
    return str(tmp_path)


def _rec(**kw):
    r = {
        "id": "t1", "role": "solver", "group": "solve:b", "reward": 1.0, "path": "x.json", "policy": {"kind": "replay"},
        "messages": [
            {"role": "system", "content": "sys"},
            {"role": "user", "content": "fix it"},
            {"role": "assistant", "content": "a1"},
            {"role": "tool", "content": "observation"},
            {"role": "assistant", "content": "a2"},
        ],
        "tokens": [
            {"messageIndex": 2, "promptTokenIds": [1, 2, 3], "tokenIds": [10, 11], "logprobs": [-0.5, -0.25]},
            # the second prompt extends prompt + completion with observation tokens 20, 21, 22
            {"messageIndex": 4, "promptTokenIds": [1, 2, 3, 10, 11, 20, 21, 22], "tokenIds": [12, 13, 14], "logprobs": [-1.0, -2.0, -3.0]},
        ],
    }
    r.update(kw)
    return r


def test_multi_turn_sequence_masks_prompt_and_observation(tmp_path, tiny):
    _, tok = tiny
    recs = read_records(_write(tmp_path, [_rec()]))
    seqs, st = build_sequences(recs, tok, max_len=100)
    assert len(seqs) == 1 and st.merged_turns == 1
    s = seqs[0]
    assert s.input_ids == [1, 2, 3, 10, 11, 20, 21, 22, 12, 13, 14]
    assert s.loss_mask == [0, 0, 0, 1, 1, 0, 0, 0, 1, 1, 1]
    assert s.has_old == s.loss_mask
    assert s.old_logprobs == [0, 0, 0, -0.5, -0.25, 0, 0, 0, -1.0, -2.0, -3.0]
    assert st.retokenised_turns == 0 and st.loss_tokens == 5


def test_non_prefix_turns_become_separate_sequences(tmp_path, tiny):
    _, tok = tiny
    r = _rec()
    r["tokens"][1]["promptTokenIds"] = [1, 2, 99, 20]  # context was rewritten (e.g. truncated history)
    seqs, st = build_sequences(read_records(_write(tmp_path, [r])), tok, max_len=100)
    assert [s.input_ids for s in seqs] == [[1, 2, 3, 10, 11], [1, 2, 99, 20, 12, 13, 14]]
    assert [s.loss_mask for s in seqs] == [[0, 0, 0, 1, 1], [0, 0, 0, 0, 1, 1, 1]]
    assert st.merged_turns == 0


def test_missing_token_ids_are_retokenised_with_the_chat_template(tmp_path, tiny):
    _, tok = tiny
    r = _rec(tokens=[])  # e.g. an OpenAI-compatible backend that returned no token ids
    seqs, st = build_sequences(read_records(_write(tmp_path, [r])), tok, max_len=10_000)
    assert st.retokenised_turns == 2 and st.retokenised_records == 1
    s = seqs[0]
    assert s.retokenised and sum(s.has_old) == 0  # on-policy: no ratio
    full = tok.encode(tok.apply_chat_template(r["messages"], add_generation_prompt=False))
    assert s.input_ids == full
    # The loss covers exactly the assistant turns' tokens.
    text_of_loss = tok.decode([t for t, m in zip(s.input_ids, s.loss_mask) if m])
    assert "a1" in text_of_loss and "a2" in text_of_loss
    assert "observation" not in text_of_loss and "fix it" not in text_of_loss and "sys" not in text_of_loss


def test_token_ids_without_prompt_ids_get_a_template_prompt(tmp_path, tiny):
    _, tok = tiny
    r = _rec()
    for t in r["tokens"]:
        del t["promptTokenIds"]
    seqs, st = build_sequences(read_records(_write(tmp_path, [r])), tok, max_len=10_000)
    assert st.turns_without_prompt_ids == 2 and st.retokenised_turns == 0
    assert sum(s.n_loss_tokens for s in seqs) == 5
    assert sum(sum(s.has_old) for s in seqs) == 5  # rollout log-probs still used for the sampled tokens


def test_max_len_cuts_the_end_and_counts_it(tmp_path, tiny):
    _, tok = tiny
    seqs, st = build_sequences(read_records(_write(tmp_path, [_rec()])), tok, max_len=9)
    assert len(seqs[0]) == 9 and seqs[0].loss_mask == [0, 0, 0, 1, 1, 0, 0, 0, 1]
    assert st.truncated_sequences == 1 and st.truncated_loss_tokens == 2


def test_token_id_outside_the_vocabulary_is_a_clear_error(tmp_path, tiny):
    _, tok = tiny
    r = _rec()
    r["tokens"][0]["tokenIds"] = [10, 999999]
    with pytest.raises(BadInput, match=r"line 1: token id 999999 is out of range"):
        build_sequences(read_records(_write(tmp_path, [r])), tok, max_len=100, vocab_size=512, source="t.jsonl")


@pytest.mark.parametrize(
    "line, message",
    [
        ('{"id": "x", "role": "solver", "group": "g", "reward": 1, "messages": [{"role": "user", "content": "hi"}]', r"line 2: not valid JSON"),
        ('[1, 2]\n', r"line 2: expected a JSON object"),
        (json.dumps(_rec(role="critic")) + "\n", r"line 2: role must be 'injector' or 'solver'"),
        (json.dumps(_rec(reward="high")) + "\n", r"line 2: reward must be a finite number"),
        (json.dumps(_rec(messages=[])) + "\n", r"line 2: messages must be a non-empty array"),
        (json.dumps(_rec(tokens=[{"messageIndex": 1, "tokenIds": [1]}])) + "\n", r"line 2: tokens\[0\].messageIndex 1 points at a user message"),
        (json.dumps(_rec(tokens=[{"messageIndex": 2, "tokenIds": [1, 2], "logprobs": [-1]}])) + "\n", r"line 2: tokens\[0\].logprobs has 1 entries but tokenIds has 2"),
        (json.dumps(_rec(tokens=[{"messageIndex": 2, "tokenIds": [1, "a"]}])) + "\n", r"line 2: tokens\[0\].tokenIds must be an array of non-negative integers"),
    ],
)
def test_corrupt_lines_name_the_line(tmp_path, line, message):
    run = _write(tmp_path, [_rec(), line, _rec()])
    with pytest.raises(BadInput, match=message):
        read_records(run)


def test_skip_bad_lines_keeps_the_good_ones(tmp_path):
    warnings = []
    run = _write(tmp_path, [_rec(), "{not json\n", "\n", _rec(id="t2")])
    recs = read_records(run, skip_bad_lines=True, warn=warnings.append)
    assert [r.id for r in recs] == ["t1", "t2"] and [r.line for r in recs] == [1, 4]
    assert len(warnings) == 1 and "line 2" in warnings[0]


def test_empty_and_missing_files(tmp_path):
    run = _write(tmp_path, ["\n", "  \n"])
    with pytest.raises(BadInput, match="holds no trajectories"):
        read_records(run)
    with pytest.raises(BadInput, match="no trajectories.jsonl in"):
        read_records(str(tmp_path / "nowhere"))


def test_group_is_derived_when_missing(tmp_path):
    r1 = _rec(group=None, bugId="b7")
    r2 = _rec(group=None, role="injector", round=3)
    recs = read_records(_write(tmp_path, [r1, r2]))
    assert [r.group for r in recs] == ["solve:b7", "inject:3"]
