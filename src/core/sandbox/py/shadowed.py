"""Which of the given module names an installed Python module (stdlib or
site-packages) already answers to. Run by SSR as root from / with the
repository off sys.path: a file a patch adds under one of these names would
shadow that module for the tests (a repo-root pytest.py replaces pytest).

    python3 -I shadowed.py NAME...   ->  one name per line
"""
import importlib.util
import sys


def installed(name):
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def main(names):
    sys.path = [p for p in sys.path if p not in ("", ".")]
    for name in names:
        if name.isidentifier() and installed(name):
            print(name)


if __name__ == "__main__":
    main(sys.argv[1:])
