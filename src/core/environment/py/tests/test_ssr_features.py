"""The feature installer's option handling, by the Dev Container Features spec's rules."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import ssr_features  # noqa: E402


def test_env_names_follow_the_spec():
    assert ssr_features.env_name("version") == "VERSION"
    assert ssr_features.env_name("keep-lists") == "KEEP_LISTS"
    assert ssr_features.env_name("install.zsh") == "INSTALL_ZSH"
    assert ssr_features.env_name("2fast") == "_FAST"


def test_defaults_overridden_by_the_given_options():
    meta = {"options": {"packages": {"type": "string", "default": "python3-yaml"},
                        "mode": {"type": "string", "default": "lenient"},
                        "keep-lists": {"type": "boolean", "default": False},
                        "nodefault": {"type": "string"}}}
    assert ssr_features.option_values(meta, {"mode": "strict"}) == {
        "PACKAGES": "python3-yaml", "MODE": "strict", "KEEP_LISTS": "false"}
    # A string sets the version option; true means the defaults.
    assert ssr_features.option_values({"options": {"version": {"default": "latest"}}}, "1.2") == {"VERSION": "1.2"}
    assert ssr_features.option_values({"options": {"version": {"default": "latest"}}}, True) == {"VERSION": "latest"}


def test_oci_references():
    assert ssr_features.parse_ref("features.example.invalid/devcontainers/features/node:1") == ("features.example.invalid", "devcontainers/features/node", "1")
    assert ssr_features.parse_ref("features.example.invalid/o/r/f") == ("features.example.invalid", "o/r/f", "latest")
    assert ssr_features.parse_ref("features.example.invalid/o/r/f@sha256:ab") == ("features.example.invalid", "o/r/f", "sha256:ab")
    assert ssr_features.parse_ref("localhost:5000/o/f:2") == ("localhost:5000", "o/f", "2")
