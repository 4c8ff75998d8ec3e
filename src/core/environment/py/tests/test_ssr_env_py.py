"""Unit tests of the environment recipe helper (run with pytest; no network, no apt)."""
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import ssr_env_py  # noqa: E402


def plan_in(tmp_path, files):
    for rel, text in files.items():
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        return ssr_env_py.plan()
    finally:
        os.chdir(cwd)


def test_setup_py_names_and_literals(tmp_path):
    p = plan_in(tmp_path, {
        "setup.py": "from setuptools import setup\nreqs = ['text-unidecode>=1.3', 'six; python_version<\"3\"']\n"
                    "setup(name='x', install_requires=reqs, extras_require={'test': ['pytest-mock'], 'docs': ['sphinx']})\n",
    })
    assert p["runtime"] == ["text-unidecode", "six"]
    assert p["extra"] == ["pytest-mock"]
    assert p["other"] == ["sphinx"]


def test_pyproject_groups_and_requirements_files(tmp_path):
    p = plan_in(tmp_path, {
        "pyproject.toml": "[project]\nname='x'\ndependencies=['Requests[socks]>=2', 'attrs']\n"
                          "[project.optional-dependencies]\ntests=['hypothesis']\nlint=['ruff']\n",
        "requirements.txt": "-r base.txt\nPyYAML==6.0  # yaml\n",
        "base.txt": "idna\n",
        "dev.requirements.txt": "twine\n",
        "requirements-test.txt": "freezegun\n",
    })
    assert p["runtime"] == ["requests", "attrs", "idna", "pyyaml"]
    assert p["extra"] == ["hypothesis", "freezegun"]
    assert p["other"] == ["ruff", "twine"]


def test_skips_tools_the_image_has_and_urls(tmp_path):
    p = plan_in(tmp_path, {"requirements.txt": "pytest\npip\ngit+https://example.invalid/x.git\n-e .\nfoo_bar.baz\n"})
    assert p["runtime"] == ["foo-bar-baz"]


def test_plan_flag_prints_json(tmp_path):
    (tmp_path / "requirements.txt").write_text("attrs\n")
    out = subprocess.run([sys.executable, os.path.join(os.path.dirname(HERE), "ssr_env_py.py"), "--plan"],
                         cwd=tmp_path, stdout=subprocess.PIPE, check=True).stdout
    assert json.loads(out)["runtime"] == ["attrs"]
