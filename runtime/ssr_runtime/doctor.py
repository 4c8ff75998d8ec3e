"""What this machine has for training: `python3 -m ssr_runtime.doctor [--json]`.

Works without PyTorch (it then says so and how to install it); always exits 0
unless the arguments are wrong, so that callers can read the report.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from typing import Any, Dict, List

from .deps import INSTALL_HINTS, module_version

OPTIONAL = ("transformers", "peft", "onnx", "onnxruntime", "safetensors", "numpy")


def _torch_report() -> Dict[str, Any]:
    try:
        import torch
    except Exception as err:  # noqa: BLE001
        return {"installed": False, "version": None, "error": str(err), "install": INSTALL_HINTS["torch"],
                "cuda": {"available": False, "version": None, "devices": []}}
    cuda: Dict[str, Any] = {"available": False, "version": getattr(torch.version, "cuda", None), "devices": []}
    try:
        cuda["available"] = bool(torch.cuda.is_available())
        if cuda["available"]:
            devices: List[Dict[str, Any]] = []
            for i in range(torch.cuda.device_count()):
                props = torch.cuda.get_device_properties(i)
                devices.append({
                    "index": i,
                    "name": props.name,
                    "memoryMB": int(props.total_memory // (1024 * 1024)),
                    "capability": f"{props.major}.{props.minor}",
                })
            cuda["devices"] = devices
            try:
                cuda["bf16"] = bool(torch.cuda.is_bf16_supported())
            except Exception:  # noqa: BLE001
                cuda["bf16"] = None
    except Exception as err:  # noqa: BLE001 - a broken driver should not crash the doctor
        cuda["error"] = str(err)
    mps = False
    try:
        mps = bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())
    except Exception:  # noqa: BLE001
        pass
    return {"installed": True, "version": torch.__version__, "cuda": cuda, "mps": mps,
            "threads": torch.get_num_threads()}


def report() -> Dict[str, Any]:
    rep: Dict[str, Any] = {
        "python": {"version": platform.python_version(), "executable": sys.executable},
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "torch": _torch_report(),
    }
    for name in OPTIONAL:
        v = module_version(name)
        rep[name] = {"installed": v is not None, "version": v or None}
        if v is None:
            rep[name]["install"] = INSTALL_HINTS.get(name, f"pip install {name}")
    t = rep["torch"]
    rep["canTrain"] = bool(t["installed"])
    rep["canTrainOnGpu"] = bool(t["installed"] and t["cuda"]["available"])
    rep["hfModels"] = bool(rep["transformers"]["installed"])
    rep["lora"] = bool(rep["peft"]["installed"] and rep["transformers"]["installed"])
    rep["onnxExport"] = bool(t["installed"] and rep["onnx"]["installed"])
    return rep


def _human(rep: Dict[str, Any]) -> str:
    lines = [f"python       {rep['python']['version']} ({rep['python']['executable']})"]
    t = rep["torch"]
    if t["installed"]:
        lines.append(f"torch        {t['version']}")
        c = t["cuda"]
        if c["available"]:
            for d in c["devices"]:
                lines.append(f"cuda:{d['index']}       {d['name']} ({d['memoryMB']} MiB, sm {d['capability']})")
        else:
            lines.append(f"cuda         not available{' (built for CUDA ' + c['version'] + ')' if c.get('version') else ''}")
    else:
        lines.append(f"torch        MISSING - install: {t['install']}")
    for name in OPTIONAL:
        m = rep[name]
        lines.append(f"{name:<12} {m['version'] or 'installed' if m['installed'] else 'not installed (' + m.get('install', '') + ')'}")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python3 -m ssr_runtime.doctor", description="Report what this machine has for SSR training.")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args(argv)
    rep = report()
    if args.json:
        print(json.dumps(rep))
    else:
        print(_human(rep))
    return 0


if __name__ == "__main__":
    sys.exit(main())
