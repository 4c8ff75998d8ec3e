"""Round trip: synthetic trajectories.jsonl -> train -> export ONNX -> the folder the `onnx` policy loads."""

import json
import os

import pytest
import torch

from ssr_runtime import synthetic
from ssr_runtime.tiny_model import load_model

onnx = pytest.importorskip("onnx")


def test_train_then_export_onnx(tmp_path, tiny, tiny_dir, run_cli):
    base, tok = tiny
    run = str(tmp_path / "run")
    out = str(tmp_path / "out")
    synthetic.write_run(run, synthetic.make_records(tok, base, solver_groups=2, attempts=4, injector_groups=1, zero_variance_groups=0))
    rc, events, _, stderr = run_cli("ssr_runtime.train", ["--run", run, "--model", tiny_dir, "--out", out, "--device", "cpu",
                                                          "--steps", "3", "--lr", "1e-3", "--batch-size", "12", "--grad-accum", "1",
                                                          "--checkpoint-every", "0", "--onnx", "yes"])
    assert rc == 0, stderr
    done = events[-1]
    folder = os.path.join(out, "model")  # one folder: PyTorch weights (trainer, vLLM) + onnx/ (the onnx policy)
    assert done["type"] == "done" and done["onnx"] == folder and done["model"] == folder and done["onnxError"] is None
    assert done["onnxFile"] == os.path.join(folder, "onnx", "model.onnx")
    assert [e["kind"] for e in events if e["type"] == "export"] == ["model", "onnx"]

    files = set(os.listdir(folder))
    assert {"config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json", "pytorch_model.bin", "onnx"} <= files
    assert os.listdir(os.path.join(folder, "onnx")) == ["model.onnx"]  # no temp files left behind
    assert not [n for n in os.listdir(out) if n.startswith(".")], "temporary folders must not remain"
    cfg = json.load(open(os.path.join(folder, "config.json")))
    assert cfg["model_type"] == "llama"

    path = os.path.join(folder, "onnx", "model.onnx")
    onnx.checker.check_model(path)
    m = onnx.load(path)
    n_layers = cfg["num_hidden_layers"]
    inputs = [i.name for i in m.graph.input]
    outputs = [o.name for o in m.graph.output]
    assert inputs[:3] == ["input_ids", "attention_mask", "position_ids"]
    assert outputs[0] == "logits" and f"present.{n_layers - 1}.value" in outputs
    assert f"past_key_values.{n_layers - 1}.key" in inputs

    # The exported graph holds the *trained* weights, not the base model's.
    trained, _ = load_model(folder)
    emb = {i.name: i for i in m.graph.initializer}["model.model.embed_tokens.weight"]
    from onnx import numpy_helper

    arr = torch.from_numpy(numpy_helper.to_array(emb).copy())
    assert torch.allclose(arr, trained.model.embed_tokens.weight.detach(), atol=1e-6)
    assert not torch.allclose(arr, base.model.embed_tokens.weight.detach(), atol=1e-6)

    # Numerical check against PyTorch when onnxruntime is installed (the Node side checks it too).
    try:
        import onnxruntime as ort  # type: ignore
    except ImportError:
        return
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    ids = [[510, 313, 10, 104, 105]]
    feed = {"input_ids": torch.tensor(ids).numpy(), "attention_mask": torch.ones(1, 5, dtype=torch.long).numpy(),
            "position_ids": torch.arange(5).unsqueeze(0).numpy()}
    for i in range(n_layers):
        for kind in ("key", "value"):
            feed[f"past_key_values.{i}.{kind}"] = torch.zeros(1, cfg["num_key_value_heads"], 0, cfg["hidden_size"] // cfg["num_attention_heads"]).numpy()
    logits = sess.run(["logits"], feed)[0]
    with torch.no_grad():
        ref = trained(torch.tensor(ids)).logits.numpy()
    assert abs(logits - ref).max() < 1e-3
