"""Shared fixtures: the runtime on sys.path, one tiny model per session, helpers to run the CLIs."""

import json
import os
import subprocess
import sys

import pytest

RUNTIME = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if RUNTIME not in sys.path:
    sys.path.insert(0, RUNTIME)


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory):
    """A tiny Llama model folder built by the runtime itself (tiny_model.build_tiny)."""
    from ssr_runtime.tiny_model import build_tiny

    d = str(tmp_path_factory.mktemp("tiny") / "model")
    build_tiny(d, seed=0)
    return d


@pytest.fixture(scope="session")
def tiny(tiny_dir):
    from ssr_runtime.tiny_model import load_model

    return load_model(tiny_dir)


def run_module(module, args, pythonpath=None, timeout=300):
    """Runs `python -m module args` with PYTHONPATH=runtime (or `pythonpath`); returns (rc, events, stdout, stderr).

    Every non-empty stdout line must parse as JSON: stdout is the driver's event channel.
    """
    env = dict(os.environ)
    env["PYTHONPATH"] = pythonpath or RUNTIME
    p = subprocess.run([sys.executable, "-m", module] + list(args), capture_output=True, text=True, env=env, timeout=timeout)
    events = [json.loads(line) for line in p.stdout.splitlines() if line.strip()]
    return p.returncode, events, p.stdout, p.stderr


@pytest.fixture
def run_cli():
    return run_module
