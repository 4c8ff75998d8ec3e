# Starts SSR's runner as a sandbox container's main process. The runner's
# modules come as arguments, a name then its source, in the order they import
# one another (python3 -u -c BOOT NAME SOURCE ...; src/core/sandbox/runnerSource.ts):
# the container needs no file of SSR's before it starts, and nothing on its
# disk (which the tested code may write) is ever imported as the runner.
import sys
import types


def load(args):
    for name, source in zip(args[0::2], args[1::2]):
        module = types.ModuleType(name)
        module.__file__ = "<ssr runner: %s.py>" % name
        sys.modules[name] = module
        exec(compile(source, module.__file__, "exec"), module.__dict__)


if __name__ == "__main__":
    arguments = sys.argv[1:]
    del sys.argv[1:]
    load(arguments)
    sys.modules["runner"].main()
