"""Outputs are written atomically, export failures are handled, and the transformers code path runs."""

import os
import sys
import textwrap

import pytest

from ssr_runtime import synthetic, train


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, tiny):
    model, tok = tiny
    d = str(tmp_path_factory.mktemp("run"))
    synthetic.write_run(d, synthetic.make_records(tok, model, solver_groups=1, attempts=2, injector_groups=1, zero_variance_groups=0))
    return d


def _main(args):
    events = []
    with open(os.devnull, "w") as devnull:
        rc = train.main(args, on_event=events.append, stdout=devnull)
    return rc, events


def _args(run_dir, model, out, *extra):
    return ["--run", run_dir, "--model", model, "--out", out, "--device", "cpu", "--steps", "2", "--lr", "1e-3",
            "--batch-size", "4", "--grad-accum", "1", *extra]


def _no_temp(folder):
    leftovers = []
    for root, dirs, files in os.walk(folder):
        leftovers += [os.path.join(root, n) for n in dirs + files if n.startswith(".") or ".tmp" in n]
    return leftovers


def _failing_export(model_dir, out_dir, opset=14):
    os.makedirs(os.path.join(out_dir, "onnx"), exist_ok=True)
    with open(os.path.join(out_dir, "onnx", "model.onnx.tmp"), "w") as f:
        f.write("half")
    raise RuntimeError("exporter crashed")


def test_onnx_failure_is_a_warning_in_auto_mode(tmp_path, tiny_dir, run_dir, monkeypatch):
    from ssr_runtime import export_onnx

    monkeypatch.setattr(export_onnx, "export", _failing_export)
    out = str(tmp_path / "out")
    rc, events = _main(_args(run_dir, tiny_dir, out, "--onnx", "auto"))
    assert rc == 0
    done = events[-1]
    assert done["type"] == "done" and done["onnx"] is None and "exporter crashed" in done["onnxError"]
    assert any(e["type"] == "log" and e["level"] == "warn" and "ONNX export failed" in e["message"] for e in events)
    assert os.path.exists(os.path.join(out, "model", "pytorch_model.bin"))
    assert not os.path.exists(os.path.join(out, "model", "onnx")), "no half-written onnx/ in the published model"
    assert _no_temp(out) == []


def test_onnx_failure_is_an_error_when_required_and_nothing_is_published(tmp_path, tiny_dir, run_dir, monkeypatch):
    from ssr_runtime import export_onnx

    monkeypatch.setattr(export_onnx, "export", _failing_export)
    out = str(tmp_path / "out")
    rc, events = _main(_args(run_dir, tiny_dir, out, "--onnx", "yes"))
    assert rc == 1 and events[-1]["type"] == "error" and "ONNX export failed" in events[-1]["message"]
    assert not os.path.exists(os.path.join(out, "model"))
    assert _no_temp(out) == []


def test_a_checkpoint_that_fails_midway_is_never_presented(tmp_path, tiny_dir, run_dir, monkeypatch):
    from ssr_runtime import tiny_model

    real = tiny_model.save_model
    calls = {"n": 0}

    def flaky(model, tok, folder):
        calls["n"] += 1
        if calls["n"] == 2:  # the second checkpoint dies half-way
            with open(os.path.join(folder, "pytorch_model.bin"), "wb") as f:
                f.write(b"partial")
            raise OSError("disk full")
        return real(model, tok, folder)

    monkeypatch.setattr(tiny_model, "save_model", flaky)
    out = str(tmp_path / "out")
    rc, events = _main(_args(run_dir, tiny_dir, out, "--steps", "3", "--checkpoint-every", "1", "--onnx", "no"))
    assert rc == 1 and "disk full" in events[-1]["message"]
    ck = os.path.join(out, "checkpoints")
    assert sorted(os.listdir(ck)) == ["latest.json", "step-000001"]  # step 2 never appeared
    import json

    assert json.load(open(os.path.join(ck, "latest.json")))["step"] == 1
    assert _no_temp(out) == []
    assert [e["step"] for e in events if e["type"] == "checkpoint"] == [1]


FAKE_TRANSFORMERS = '''
"""A stand-in for `transformers` (not installed in CI) that serves the tiny model through the
Auto* API, so the trainer's hf backend code path runs: dtype kwarg, save_pretrained, checkpointing."""
__version__ = "4.57.1"
import torch
from ssr_runtime import tiny_model

CALLS = []


class _Tok:
    def __init__(self, tok):
        self._t = tok
    def __getattr__(self, name):
        return getattr(self._t, name)
    def apply_chat_template(self, messages, add_generation_prompt=False):
        return self._t.apply_chat_template(messages, add_generation_prompt=add_generation_prompt, tokenize=True)
    def save_pretrained(self, folder):
        self._t.save(folder)


class AutoTokenizer:
    @staticmethod
    def from_pretrained(folder):
        return _Tok(tiny_model.ByteLevelBPETokenizer.from_folder(folder))


class AutoModelForCausalLM:
    @staticmethod
    def from_pretrained(folder, low_cpu_mem_usage=False, **kw):
        CALLS.append(kw)
        assert set(kw) == {"dtype"}, kw
        model, tok = tiny_model.load_model(folder, dtype=kw["dtype"])
        model._tok = tok
        model.get_input_embeddings = lambda: model.model.embed_tokens
        def gc_enable(gradient_checkpointing_kwargs=None):
            CALLS.append(("gc", gradient_checkpointing_kwargs))
        model.gradient_checkpointing_enable = gc_enable
        def save_pretrained(out, safe_serialization=True):
            tiny_model.save_model(model, model._tok, out)
        model.save_pretrained = save_pretrained
        return model
'''


def test_hf_backend_code_path_with_a_stand_in_transformers(tmp_path, tiny_dir, run_dir, monkeypatch):
    fake = tmp_path / "fake"
    fake.mkdir()
    (fake / "transformers.py").write_text(textwrap.dedent(FAKE_TRANSFORMERS))
    monkeypatch.syspath_prepend(str(fake))
    monkeypatch.delitem(sys.modules, "transformers", raising=False)
    try:
        out = str(tmp_path / "out")
        rc, events = _main(_args(run_dir, tiny_dir, out, "--backend", "hf", "--grad-checkpointing", "on", "--onnx", "no"))
        assert rc == 0, events[-1]
        import transformers  # the stand-in

        start = next(e for e in events if e["type"] == "start")
        assert start["backend"] == "hf" and start["gradientCheckpointing"] is True
        assert ("gc", {"use_reentrant": False}) in transformers.CALLS
        assert os.path.exists(os.path.join(out, "model", "pytorch_model.bin"))
        # --lora without peft: the built-in LoRA, an adapter in peft's layout, and the merged model
        out2 = str(tmp_path / "out2")
        rc, events = _main(_args(run_dir, tiny_dir, out2, "--backend", "hf", "--lora", "--onnx", "no"))
        assert rc == 0
        assert next(e for e in events if e["type"] == "start")["lora"] is True
        assert {"adapter_config.json", "adapter_model.bin"} <= set(os.listdir(os.path.join(out2, "adapter")))
        assert os.path.exists(os.path.join(out2, "model", "pytorch_model.bin"))
    finally:
        sys.modules.pop("transformers", None)


def test_out_of_memory_says_what_to_lower(tmp_path, tiny_dir, run_dir, monkeypatch):
    from ssr_runtime import objective

    def oom(*a, **k):
        raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 23.65 GiB total capacity)")

    monkeypatch.setattr(objective, "sequence_logprobs", oom)
    rc, events = _main(_args(run_dir, tiny_dir, str(tmp_path / "out"), "--onnx", "no", "--max-len", "1024"))
    assert rc == 4
    err = events[-1]
    assert err["type"] == "error" and err["code"] == "oom"
    msg = err["message"]
    assert "out of CPU memory at step 1" in msg  # --device cpu here; "GPU" on CUDA
    for hint in ("--batch-size 2", "--grad-accum to 2", "--max-len", "--lora", "--grad-checkpointing on"):
        assert hint in msg, (hint, msg)
