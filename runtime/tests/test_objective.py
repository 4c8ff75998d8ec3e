import copy
import json

import pytest
import torch

from ssr_runtime.data import build_sequences, read_records
from ssr_runtime.modeling import enable_checkpointing
from ssr_runtime.objective import logprobs_from_hidden, logprobs_from_logits, policy_loss, sequence_logprobs


def _inputs(T=8):
    torch.manual_seed(0)
    logp = (-torch.rand(2, T) * 3).requires_grad_(True)
    mask = torch.tensor([[0, 0, 1, 1, 0, 0, 1, 0], [0, 1, 1, 1, 1, 0, 0, 0]], dtype=torch.float32)
    return logp, mask


def test_masked_tokens_get_no_gradient():
    logp, mask = _inputs()
    adv = torch.tensor([[1.5], [-0.7]])
    old = logp.detach() - 0.05
    has = mask.clone()
    ref = logp.detach() + 0.1
    loss, st = policy_loss(logp, old, has, adv, mask, ref, clip_eps=0.2, kl_coef=0.1)
    loss.backward()
    g = logp.grad
    assert torch.all(g[mask == 0] == 0), "prompt/observation tokens must get exactly zero gradient"
    assert torch.all(g[mask == 1] != 0)
    assert st.tokens == mask.sum().item()


def test_masked_positions_cannot_change_the_loss():
    # Perturbation: arbitrary (even extreme) values at masked positions leave loss and gradients unchanged.
    logp, mask = _inputs()
    adv = torch.tensor([[1.0], [-1.0]])
    old = logp.detach().clone()
    has = torch.ones_like(mask)
    base, _ = policy_loss(logp, old, has, adv, mask)
    g0 = torch.autograd.grad(base, logp)[0]
    old2 = old.clone()
    old2[mask == 0] = -50.0
    logp2 = logp.detach().clone()
    logp2[mask == 0] = -80.0
    logp2.requires_grad_(True)
    pert, _ = policy_loss(logp2, old2, has, adv, mask)
    g1 = torch.autograd.grad(pert, logp2)[0]
    assert pert.item() == pytest.approx(base.item(), abs=1e-7)
    assert torch.allclose(g0, g1)


def test_on_policy_gradient_is_advantage_times_grad_logp():
    logp, mask = _inputs()
    adv = torch.tensor([[2.0], [-0.5]])
    loss, st = policy_loss(logp, torch.zeros_like(logp), torch.zeros_like(mask), adv, mask)
    loss.backward()
    n = mask.sum()
    expected = -(adv.expand_as(logp)) * mask / n
    assert torch.allclose(logp.grad, expected)
    assert st.ratio_tokens == 0 and st.summary()["clipFrac"] == 0.0
    assert loss.item() == pytest.approx(float(-(adv.expand_as(logp) * mask).sum() / n))


def test_ppo_clipping_stops_the_gradient_outside_the_trust_region():
    logp = torch.log(torch.tensor([[0.5, 0.5, 0.5, 0.5]])).requires_grad_(True)
    mask = torch.ones(1, 4)
    # ratios 1.0, 1.5 (above 1 + 0.2), 0.5 (below 1 - 0.2), 1.1
    old = torch.log(torch.tensor([[0.5, 1 / 3, 1.0, 0.5 / 1.1]]))
    has = torch.ones(1, 4)
    loss, st = policy_loss(logp, old, has, torch.tensor([[1.0]]), mask, clip_eps=0.2)
    loss.backward()
    g = logp.grad[0]
    assert g[1] == 0  # positive advantage, ratio above 1 + eps: clipped
    assert g[0] != 0 and g[2] != 0 and g[3] != 0  # ratio 0.5 with A > 0 keeps its gradient (pessimistic bound)
    assert st.clipped == 1 and st.summary()["clipFrac"] == pytest.approx(0.25)
    # Negative advantage: the low side clips instead.
    logp.grad = None
    loss, st = policy_loss(logp, old, has, torch.tensor([[-1.0]]), mask, clip_eps=0.2)
    loss.backward()
    assert logp.grad[0, 2] == 0 and logp.grad[0, 1] != 0 and st.clipped == 1


def test_kl_penalty_is_zero_at_the_reference_and_pulls_back():
    logp, mask = _inputs()
    ref = logp.detach().clone()
    zero_adv = torch.zeros(2, 1)
    loss, st = policy_loss(logp, ref, torch.zeros_like(mask), zero_adv, mask, ref, kl_coef=1.0)
    assert loss.item() == pytest.approx(0.0, abs=1e-7) and st.summary()["kl"] == pytest.approx(0.0, abs=1e-7)
    # Above the reference the KL gradient is positive (descent lowers logp back), below it is negative.
    ref2 = logp.detach() - 0.5
    loss, st = policy_loss(logp, ref2, torch.zeros_like(mask), zero_adv, mask, ref2, kl_coef=1.0)
    loss.backward()
    assert torch.all(logp.grad[mask == 1] > 0) and st.summary()["kl"] > 0


def test_chunked_lm_head_matches_full_logits():
    torch.manual_seed(1)
    hidden = torch.randn(2, 37, 16, requires_grad=True)
    head = torch.nn.Linear(16, 50, bias=False)
    ids = torch.randint(0, 50, (2, 37))
    full = logprobs_from_logits(head(hidden), ids, chunk=1000)
    chunked = logprobs_from_hidden(hidden, head, ids, chunk=8)
    assert torch.allclose(full, chunked, atol=1e-5)
    assert full[:, 0].abs().max() == 0
    ref = torch.log_softmax(head(hidden).float(), -1)[:, :-1].gather(-1, ids[:, 1:, None]).squeeze(-1)
    assert torch.allclose(full[:, 1:], ref, atol=1e-5)
    (g1,) = torch.autograd.grad(full.sum(), hidden)
    (g2,) = torch.autograd.grad(chunked.sum(), hidden)
    assert torch.allclose(g1, g2, atol=1e-5)


def test_through_the_model_only_assistant_tokens_carry_loss(tmp_path, tiny):
    """End to end on a built sequence: d loss / d logp_t is zero on system, user and tool tokens."""
    model, tok = tiny
    model = copy.deepcopy(model)
    rec = {
        "id": "t", "role": "solver", "group": "g", "reward": 1.0, "path": "", "policy": {},
        "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "fix the bug"},
                     {"role": "assistant", "content": "Y <tool: bash>\nls\n</tool>"}, {"role": "tool", "content": "a.py b.py"},
                     {"role": "assistant", "content": "Y <tool: submit>\n</tool>"}],
        "tokens": [],
    }
    (tmp_path / "trajectories.jsonl").write_text(json.dumps(rec) + "\n")
    seqs, _ = build_sequences(read_records(str(tmp_path)), tok, max_len=1000)
    s = seqs[0]
    ids = torch.tensor([s.input_ids])
    mask = torch.tensor([s.loss_mask], dtype=torch.float32)
    logp = sequence_logprobs(model, ids, None)
    logp.retain_grad()
    loss, _ = policy_loss(logp, torch.zeros_like(logp), torch.zeros_like(mask), torch.tensor([[1.0]]), mask)
    loss.backward()
    g = logp.grad[0]
    assert torch.all(g[mask[0] == 0] == 0) and torch.all(g[mask[0] == 1] != 0)
    masked_text = tok.decode([t for t, m in zip(s.input_ids, s.loss_mask) if not m])
    assert "a.py b.py" in masked_text and "fix the bug" in masked_text
    # The parameters do get gradient (through the assistant tokens).
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())


def test_activation_checkpointing_gives_the_same_gradients(tiny):
    model, _ = tiny
    a = copy.deepcopy(model).train()
    b = copy.deepcopy(model).train()
    assert enable_checkpointing(b, warn=lambda m: None)
    ids = torch.randint(0, 500, (2, 24))
    for m in (a, b):
        lp = sequence_logprobs(m, ids, torch.ones_like(ids))
        lp[:, 1:].sum().backward()
    for (n, pa), (_, pb) in zip(a.named_parameters(), b.named_parameters()):
        assert torch.allclose(pa.grad, pb.grad, atol=1e-5), n


def test_fused_head_path_matches_the_full_logits_path(tiny):
    """The chunked-LM-head path used for Hugging Face Llama/Qwen/Mistral models (get_decoder() +
    get_output_embeddings()) gives the same log-probs and gradients as full logits."""
    from types import SimpleNamespace

    from ssr_runtime import tiny_model
    from ssr_runtime.objective import fused_head_parts

    model, _ = tiny
    m = copy.deepcopy(model).train()

    class Decoder(torch.nn.Module):
        def __init__(self, lm):
            super().__init__()
            self.lm = lm

        def forward(self, input_ids, attention_mask=None, use_cache=False):
            inner = self.lm.model
            b, t = input_ids.shape
            if attention_mask is None:
                attention_mask = torch.ones(b, t, dtype=torch.long)
            pos = torch.arange(t).unsqueeze(0).expand(b, -1)
            h = inner.embed_tokens(input_ids)
            cos, sin = inner.rotary_emb(h, pos)
            mask = tiny_model.build_attention_mask(attention_mask, t, 0)
            for layer in inner.layers:
                h, _ = layer(h, cos, sin, mask, None)
            return SimpleNamespace(last_hidden_state=inner.norm(h))

    dec = Decoder(m)
    m.get_decoder = lambda: dec
    m.get_output_embeddings = lambda: m.lm_head
    assert fused_head_parts(m) is not None  # model_type 'llama', plain nn.Linear head
    ids = torch.randint(0, 500, (2, 40))
    attn = torch.ones_like(ids)
    attn[1, 30:] = 0
    fused = sequence_logprobs(m, ids, attn, fused=True, chunk=7)
    (gf,) = torch.autograd.grad(fused[:, 1:30].sum(), m.lm_head.weight)
    full = sequence_logprobs(m, ids, attn, fused=False)
    (gu,) = torch.autograd.grad(full[:, 1:30].sum(), m.lm_head.weight)
    assert torch.allclose(fused[:, :30], full[:, :30], atol=1e-5)
    assert torch.allclose(gf, gu, atol=1e-5)
    m.config.model_type = "gemma2"  # softcapped logits: not exact, so not used
    assert fused_head_parts(m) is None
    m.config.model_type = "llama"
