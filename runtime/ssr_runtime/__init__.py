"""SSR's Python runtime: the RL trainer and its model utilities.

Modules import nothing heavy at package import time; PyTorch is imported by
the modules that need it (tiny_model, export_onnx, the trainer).

Model utilities (see their docstrings for the stable API):
    ssr_runtime.tiny_model   build_tiny / load_model / save_model: a tiny
                             Llama-architecture model + byte-level BPE
                             tokenizer in the Hugging Face folder layout
    ssr_runtime.export_onnx  model folder -> onnx/model.onnx with KV cache
                             (Optimum / transformers.js layout)
"""
