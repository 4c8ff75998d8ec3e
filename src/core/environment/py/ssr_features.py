"""Installs one Dev Container Feature inside SSR's environment build (as root).

Follows the Dev Container Features spec (containers.dev/implementors/features):
the feature's devcontainer-feature.json declares `options` with defaults;
the values the devcontainer.json gives (an object, or a string that sets the
`version` option) override them; each option reaches install.sh as an
environment variable named by the spec's rule (upper-cased, characters that
are not letters, digits or _ replaced by _, no leading digit); install.sh
runs as root from the feature's folder, with _REMOTE_USER, _CONTAINER_USER
and their homes set.

A local feature ("./name" in devcontainer.json) was copied into the build
context by SSR. A remote one (an OCI reference such as
REGISTRY/OWNER/REPO/NAME:TAG) is fetched from its registry here, through the
build's network; when that fails the step exits non-zero saying which feature
and how to proceed.

Usage: python3 ssr_features.py install INDEX   (reads /ssr/env/features/features.json)
       python3 ssr_features.py env-name OPTION  (prints the variable name; for tests)
"""
import io
import json
import os
import re
import subprocess
import sys
import tarfile
import urllib.error
import urllib.request

HOME = "/ssr/env/features"
MANIFEST_TYPES = ", ".join([
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
])


def env_name(option_id):
    """The spec's rule: replace non-word characters, no leading digits, upper case."""
    name = re.sub(r"[^\w_]", "_", option_id)
    name = re.sub(r"^[\d_]+", "_", name)
    return name.upper()


def option_values(meta, given):
    """Defaults from the feature's options, overridden by what devcontainer.json gives."""
    options = meta.get("options") or {}
    values = {}
    for oid, spec in options.items():
        if isinstance(spec, dict) and "default" in spec:
            values[oid] = spec["default"]
    if isinstance(given, str):
        values["version"] = given
    elif isinstance(given, dict):
        values.update(given)
    elif given not in (None, True):
        values["version"] = given
    out = {}
    for oid, value in values.items():
        if isinstance(value, bool):
            value = "true" if value else "false"
        out[env_name(oid)] = str(value)
    return out


def parse_ref(ref):
    """registry, repository, tag-or-digest of an OCI reference."""
    registry, _, rest = ref.partition("/")
    if "@" in rest:
        repo, _, tag = rest.partition("@")
    elif ":" in rest.rsplit("/", 1)[-1]:
        repo, _, tag = rest.rpartition(":")
    else:
        repo, tag = rest, "latest"
    return registry, repo, tag


def http_get(url, headers, token=None):
    req = urllib.request.Request(url, headers=dict(headers, **({"Authorization": "Bearer " + token} if token else {})))
    return urllib.request.urlopen(req, timeout=60)


def bearer_token(challenge):
    """An anonymous pull token from the registry's WWW-Authenticate challenge."""
    fields = dict(re.findall(r'(\w+)="([^"]*)"', challenge or ""))
    realm = fields.pop("realm", None)
    if not realm:
        raise RuntimeError("the registry asked for authentication SSR cannot give (%s)" % challenge)
    query = "&".join("%s=%s" % (k, urllib.request.quote(v, safe=":/,")) for k, v in fields.items())
    with http_get(realm + ("?" + query if query else ""), {}) as r:
        data = json.loads(r.read().decode("utf-8"))
    return data.get("token") or data.get("access_token")


def fetch_remote(ref, dest):
    registry, repo, tag = parse_ref(ref)
    base = "https://%s/v2/%s" % (registry, repo)
    token = None
    try:
        r = http_get("%s/manifests/%s" % (base, tag), {"Accept": MANIFEST_TYPES})
    except urllib.error.HTTPError as e:
        if e.code != 401:
            raise
        token = bearer_token(e.headers.get("WWW-Authenticate"))
        r = http_get("%s/manifests/%s" % (base, tag), {"Accept": MANIFEST_TYPES}, token)
    with r:
        manifest = json.loads(r.read().decode("utf-8"))
    layers = manifest.get("layers") or []
    if not layers:
        raise RuntimeError("the manifest of %s has no layer" % ref)
    with http_get("%s/blobs/%s" % (base, layers[0]["digest"]), {}, token) as r:
        blob = r.read()
    os.makedirs(dest, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(blob)) as tar:
        for member in tar.getmembers():
            name = os.path.normpath(member.name)
            if name.startswith("..") or os.path.isabs(name) or member.issym() or member.islnk():
                continue
            tar.extract(member, dest)


def install(index):
    with open(os.path.join(HOME, "features.json"), encoding="utf-8") as fh:
        feature = json.load(fh)[index]
    key = feature["key"]
    folder = os.path.join(HOME, str(index))
    if feature.get("remote"):
        print("ssr-env: fetching the devcontainer feature %s from its registry" % key, flush=True)
        try:
            fetch_remote(key, folder)
        except Exception as e:  # any failure: say which feature and what to do
            sys.stderr.write(
                "ssr-env: the devcontainer feature %s could not be fetched (%s: %s).\n"
                "SSR fetches remote (OCI) features through the build's network, which does not reach that registry here.\n"
                "To proceed: copy the feature's folder (devcontainer-feature.json, install.sh) into .devcontainer/ and name it\n"
                "as a local feature (\"./NAME\": {...}), or install what it installs in a Dockerfile (build.dockerfile).\n"
                % (key, type(e).__name__, e))
            return 3
    meta_file = os.path.join(folder, "devcontainer-feature.json")
    meta = {}
    if os.path.exists(meta_file):
        with open(meta_file, encoding="utf-8") as fh:
            meta = json.load(fh)
    script = os.path.join(folder, "install.sh")
    if not os.path.exists(script):
        sys.stderr.write("ssr-env: the devcontainer feature %s has no install.sh\n" % key)
        return 4
    values = option_values(meta, feature.get("options"))
    env = dict(os.environ)
    env.update(meta.get("containerEnv") or {} if feature.get("remote") else {})
    env.update(values)
    env.update({"_REMOTE_USER": "root", "_CONTAINER_USER": "root", "_REMOTE_USER_HOME": "/root", "_CONTAINER_USER_HOME": "/root"})
    shown = " ".join("%s=%s" % kv for kv in sorted(values.items()))
    print("ssr-env: installing the devcontainer feature %s (%s)%s" % (key, meta.get("id", "?"), (" with " + shown) if shown else ""), flush=True)
    os.chmod(script, 0o755)
    return subprocess.call(["bash", "-c", "./install.sh"], cwd=folder, env=env)


def main(argv):
    if len(argv) == 3 and argv[1] == "install":
        return install(int(argv[2]))
    if len(argv) == 3 and argv[1] == "env-name":
        print(env_name(argv[2]))
        return 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
