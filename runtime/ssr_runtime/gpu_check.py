"""GPU check: the trainer on a ~0.5B Qwen2-architecture model, against plain PyTorch.

    python3 -m ssr_runtime.gpu_check --work DIR [--steps 4] [--seq-len 2048]
    (runtime/gpu_check.sh runs it with PYTHONPATH set and a time limit)

Nothing is downloaded:
  1. a byte-level BPE tokenizer is trained locally (`tokenizers`) on synthetic
     text and this repository's sources, with a Qwen-style chat template;
  2. a randomly initialised Qwen2 model of Qwen2.5-0.5B's shape (24 layers,
     hidden 896, 14 heads / 2 KV heads, MLP 4864, vocabulary 151,936, tied
     embeddings: ~494M parameters) is built from a `transformers` config and
     saved in bf16;
  3. a synthetic run with known rewards (`synthetic.py`), its prompts padded
     to about --seq-len tokens;
  4. `ssr_runtime.train` on it: full fine-tuning and LoRA (peft), bf16, CUDA,
     a few steps each; tokens/s and peak GPU memory from its step events;
  5. the same model in plain PyTorch (forward + backward + AdamW on
     sequences of the same length, bf16 autocast): tokens/s and peak memory,
     in the same process run, as the reference.

Prints one JSON object (stdout) with every figure; progress goes to stderr.
Exit 3 when torch/CUDA/transformers/peft/tokenizers are missing (says which).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from typing import Any, Dict, List


def log(msg: str) -> None:
    print(f"[gpu_check] {msg}", file=sys.stderr, flush=True)


def need() -> List[str]:
    missing = []
    for mod in ("torch", "transformers", "peft", "tokenizers"):
        try:
            __import__(mod)
        except Exception:  # noqa: BLE001
            missing.append(mod)
    if "torch" not in missing:
        import torch

        if not torch.cuda.is_available():
            missing.append("CUDA (torch.cuda.is_available() is False)")
    return missing


def corpus(root: str) -> List[str]:
    texts = []
    for base in ("src", "runtime", "docs"):
        for dp, _, files in os.walk(os.path.join(root, base)):
            for f in files:
                if f.endswith((".ts", ".py", ".md")):
                    try:
                        with open(os.path.join(dp, f), encoding="utf-8") as fh:
                            texts.append(fh.read())
                    except Exception:  # noqa: BLE001
                        pass
    texts.append("".join(chr(c) for c in range(32, 127)) * 10)
    return texts


CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def build_tokenizer(folder: str, root: str) -> Any:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=16384, special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(corpus(root), trainer=trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>", bos_token=None)
    fast.chat_template = CHAT_TEMPLATE
    fast.save_pretrained(folder)
    return fast


def build_model(folder: str, vocab: int) -> int:
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    cfg = Qwen2Config(vocab_size=vocab, hidden_size=896, intermediate_size=4864, num_hidden_layers=24,
                      num_attention_heads=14, num_key_value_heads=2, max_position_embeddings=32768,
                      tie_word_embeddings=True, rope_theta=1000000.0, torch_dtype="bfloat16")
    torch.manual_seed(0)
    model = Qwen2ForCausalLM(cfg).to(torch.bfloat16)
    n = sum(p.numel() for p in model.parameters())
    model.save_pretrained(folder, safe_serialization=True)
    del model
    return n


def make_run(run: str, tok: Any, seq_len: int) -> int:
    from . import synthetic

    recs = synthetic.make_records(tok, None, solver_groups=4, attempts=4, injector_groups=2, zero_variance_groups=0, token_ids=False)
    filler = "\n".join(corpus(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    ids = tok.encode(filler, add_special_tokens=False)[: max(0, seq_len - 128)]
    pad = tok.decode(ids)
    for r in recs:
        r["messages"][0]["content"] = pad + "\n" + r["messages"][0]["content"]
    synthetic.write_run(run, recs)
    return len(recs)


def run_train(args: List[str]) -> Dict[str, Any]:
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    t0 = time.time()
    p = subprocess.run([sys.executable, "-m", "ssr_runtime.train"] + args, capture_output=True, text=True, env=env)
    events = [json.loads(l) for l in p.stdout.splitlines() if l.strip().startswith("{")]
    steps = [e for e in events if e["type"] == "step"]
    start = next((e for e in events if e["type"] == "start"), {})
    out = {"rc": p.returncode, "wallSec": round(time.time() - t0, 1), "steps": len(steps),
           "trainableParams": start.get("trainableParams"), "lora": start.get("lora")}
    if steps:
        later = steps[1:] or steps  # the first step includes warm-up (kernels, allocator)
        out["tokensPerSec"] = round(sum(e["tokensPerSec"] for e in later) / len(later), 1)
        out["peakMemoryMB"] = round(max(e["memoryMB"] or 0 for e in steps), 1)
        out["tokensPerStep"] = steps[-1]["tokens"]
        out["loss"] = [round(e["loss"], 5) for e in steps]
    if p.returncode != 0:
        out["error"] = (next((e["message"] for e in events if e["type"] == "error"), "") or p.stderr[-2000:])
    return out


def plain_pytorch(model_dir: str, seq_len: int, batch: int, steps: int, lr: float) -> Dict[str, Any]:
    import torch
    from transformers import AutoModelForCausalLM

    dev = torch.device("cuda")
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats(dev)
    model = AutoModelForCausalLM.from_pretrained(model_dir, torch_dtype=torch.bfloat16).to(dev)
    model.gradient_checkpointing_enable()
    model.config.use_cache = False
    opt = torch.optim.AdamW(model.parameters(), lr=lr)
    g = torch.Generator().manual_seed(0)
    rates = []
    for i in range(steps):
        ids = torch.randint(0, 16384, (batch, seq_len), generator=g).to(dev)
        torch.cuda.synchronize(dev)
        t0 = time.time()
        with torch.autocast(device_type="cuda", dtype=torch.bfloat16):
            out = model(input_ids=ids, labels=ids)
        out.loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        torch.cuda.synchronize(dev)
        if i > 0:
            rates.append(batch * seq_len / (time.time() - t0))
    peak = torch.cuda.max_memory_allocated(dev) / 2 ** 20
    del model, opt
    torch.cuda.empty_cache()
    return {"tokensPerSec": round(sum(rates) / max(1, len(rates)), 1), "peakMemoryMB": round(peak, 1), "steps": steps,
            "seqLen": seq_len, "batch": batch, "note": "HF Qwen2ForCausalLM, bf16 weights + autocast, gradient checkpointing, AdamW, labels=ids loss"}


def main(argv: List[str] = None) -> int:
    ap = argparse.ArgumentParser(prog="python3 -m ssr_runtime.gpu_check")
    ap.add_argument("--work", required=True, help="scratch folder (model, tokenizer, run, outputs)")
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--seq-len", type=int, default=2048)
    ap.add_argument("--batch-size", type=int, default=4)
    a = ap.parse_args(argv)
    missing = need()
    if missing:
        print(json.dumps({"ok": False, "missing": missing}))
        log("missing: " + ", ".join(missing))
        return 3
    import torch

    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    os.makedirs(a.work, exist_ok=True)
    model_dir = os.path.join(a.work, "qwen2-0.5b-random")
    report: Dict[str, Any] = {"ok": True, "device": torch.cuda.get_device_name(0), "torch": torch.__version__}
    import transformers
    import peft

    report["transformers"], report["peft"] = transformers.__version__, peft.__version__
    t0 = time.time()
    log("training a byte-level BPE tokenizer locally")
    tok = build_tokenizer(model_dir, root)
    log("building a random Qwen2 model of Qwen2.5-0.5B's shape")
    report["params"] = build_model(model_dir, 151936)
    report["buildSec"] = round(time.time() - t0, 1)
    run = os.path.join(a.work, "run")
    report["records"] = make_run(run, tok, a.seq_len)
    common = ["--run", run, "--model", model_dir, "--device", "cuda", "--dtype", "bf16", "--steps", str(a.steps),
              "--batch-size", str(a.batch_size), "--grad-accum", "1", "--max-len", str(a.seq_len + 256), "--onnx", "no",
              "--checkpoint-every", "0", "--updates-file", "none"]
    log("ssr_runtime.train: full fine-tuning")
    report["full"] = run_train(common + ["--out", os.path.join(a.work, "out-full"), "--lr", "1e-6"])
    log("ssr_runtime.train: LoRA (peft)")
    report["lora"] = run_train(common + ["--out", os.path.join(a.work, "out-lora"), "--lora"])
    log("plain PyTorch forward/backward of the same model")
    report["plain"] = plain_pytorch(model_dir, a.seq_len, a.batch_size, a.steps, 1e-6)
    report["totalSec"] = round(time.time() - t0, 1)
    print(json.dumps(report, indent=2))
    ok = report["full"]["rc"] == 0 and report["lora"]["rc"] == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
