"""Unit tests of the judge's behaviour-neutral test for Python (src/core/judge/py/neutral.py):
changes that leave the program the same once parsed are neutral; real bugs are not."""
import importlib.util
import json
import pathlib
import subprocess
import sys
import textwrap

ROOT = pathlib.Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "src/core/judge/py/neutral.py"
spec = importlib.util.spec_from_file_location("ssr_neutral", SCRIPT)
neutral = importlib.util.module_from_spec(spec)
spec.loader.exec_module(neutral)

ORIGINAL = textwrap.dedent('''
    """Money helpers."""
    RATE = 2


    def total(items, *, tax=0):
        """Sum with tax."""
        subtotal = sum(i.price for i in items)
        fee = RATE * 3
        extra = tax + 1
        return subtotal * extra + fee


    def scale(values, factor, /):
        out = []
        for v in values:
            out.append(v * factor)
        return out
''')


def check(after, before=ORIGINAL):
    return neutral.compare("m.py", before, textwrap.dedent(after))


def variant(old, new):
    assert old in ORIGINAL
    return ORIGINAL.replace(old, new)


def test_identical_is_neutral_and_comments_and_formatting_only():
    r = check(variant("    fee = RATE * 3\n", "    fee = (RATE*3)   # three\n"))
    assert r["neutral"] and r["reasons"] == ["only comments or formatting"]


def test_renamed_locals_are_neutral_with_the_renaming_named():
    after = variant("    subtotal = sum(i.price for i in items)", "    s = sum(it.price for it in items)")
    after = after.replace("return subtotal * extra", "return s * extra")
    r = check(after)
    assert r["neutral"]
    assert r["reasons"] == ["a consistent renaming of locals: i->it, subtotal->s"]


def test_loop_variable_and_positional_only_parameter_rename_is_neutral():
    after = variant("    for v in values:\n        out.append(v * factor)",
                    "    for x in values:\n        out.append(x * f)").replace("factor, /", "f, /")
    assert check(after)["neutral"]


def test_swapped_independent_statements_are_neutral():
    after = variant("    fee = RATE * 3\n    extra = tax + 1\n", "    extra = tax + 1\n    fee = RATE * 3\n")
    r = check(after)
    assert r["neutral"] and r["reasons"] == ["independent statements reordered"]


def test_added_no_ops_are_neutral():
    for noop in ("pass", "42", "'not a docstring'", "tax", "tax = tax", "unused = 7", "if False:\n        items = []",
                 "if 1:\n        pass", "try:\n        pass\n    except Exception:\n        raise"):
        after = variant("    extra = tax + 1\n", "    extra = tax + 1\n    %s\n" % noop)
        r = check(after)
        assert r["neutral"], noop
        assert r["reasons"] == ["a statement that does nothing added or removed"], noop


def test_rename_swap_and_no_op_together_are_neutral():
    after = variant("    fee = RATE * 3\n    extra = tax + 1\n    return subtotal * extra + fee\n",
                    "    pass\n    e = tax + 1\n    fee = RATE * 3\n    return subtotal * e + fee\n")
    r = check(after)
    assert r["neutral"]
    assert len(r["reasons"]) == 3


def test_changed_operator_or_constant_is_a_bug():
    assert not check(variant("RATE * 3", "RATE + 3"))["neutral"]
    assert not check(variant("RATE * 3", "RATE * 4"))["neutral"]
    assert not check(variant("tax + 1", "tax - 1"))["neutral"]


def test_swapped_dependent_statements_are_a_bug():
    before = "def f(a):\n    x = a + 1\n    y = x * 2\n    return y\n"
    assert not check("def f(a):\n    y = x * 2\n    x = a + 1\n    return y\n", before)["neutral"]
    before = "def f(a):\n    x = a\n    x = x + 1\n    return x\n"
    assert not check("def f(a):\n    x = x + 1\n    x = a\n    return x\n", before)["neutral"]


def test_swapped_calls_are_a_bug():
    before = "def f(log):\n    log.append(1)\n    log.append(2)\n"
    assert not check("def f(log):\n    log.append(2)\n    log.append(1)\n", before)["neutral"]
    before = "def f():\n    a = g()\n    b = h()\n    return a, b\n"
    assert not check("def f():\n    b = h()\n    a = g()\n    return a, b\n", before)["neutral"]


def test_module_and_class_order_is_kept():
    before = "class C:\n    a = 1\n    b = 2\n"
    assert not check("class C:\n    b = 2\n    a = 1\n", before)["neutral"]
    assert not check("B = 2\nA = 1\n", "A = 1\nB = 2\n")["neutral"]


def test_renaming_a_keyword_parameter_global_attribute_or_function_is_a_bug():
    assert not check(ORIGINAL.replace("tax", "vat"))["neutral"]  # keyword-only: total(items, tax=1) breaks
    assert not check("def f(a):\n    return a\n", "def f(b):\n    return b\n")["neutral"]  # f(a=1) vs f(b=1)
    assert not check(ORIGINAL.replace("RATE", "RATIO"))["neutral"]
    assert not check(ORIGINAL.replace("i.price", "i.cost"))["neutral"]
    assert not check(ORIGINAL.replace("def scale", "def resize"))["neutral"]


def test_renaming_onto_a_global_is_a_bug():
    before = "RATE = 2\ndef f(a, /):\n    r = 3\n    return a * r + RATE\n"
    assert not check("RATE = 2\ndef f(a, /):\n    RATE = 3\n    return a * RATE + RATE\n", before)["neutral"]


def test_closures_rename_consistently():
    before = "def f(xs):\n    k = 2\n    def g(v, /):\n        return v * k\n    return list(map(g, xs))\n"
    after = "def f(xs):\n    m = 2\n    def g(v, /):\n        return v * m\n    return list(map(g, xs))\n"
    assert check(after, before)["neutral"]
    broken = "def f(xs):\n    m = 2\n    def g(v, /):\n        return v * k\n    return list(map(g, xs))\n"
    assert not check(broken, before)["neutral"]


def test_docstrings_and_frame_introspection_are_kept():
    assert not check(ORIGINAL.replace('"""Sum with tax."""', '"""Sum."""'))["neutral"]
    before = "def f(a, /):\n    x = a\n    return locals()\n"
    assert not check("def f(a, /):\n    y = a\n    return locals()\n", before)["neutral"]
    before = "def f(a, /):\n    x = a\n    return f'{x=}'\n"
    assert not check("def f(a, /):\n    y = a\n    return f'{y=}'\n", before)["neutral"]


def test_a_bare_unbound_name_or_used_new_local_is_a_bug():
    assert not check(variant("    extra = tax + 1\n", "    extra = tax + 1\n    undefined_name\n"))["neutral"]
    assert not check(variant("    extra = tax + 1\n", "    extra = tax + 1\n    tax = 0\n"))["neutral"]


def test_syntax_errors():
    assert not check(ORIGINAL + "\ndef broken(:\n")["neutral"]
    r = check(ORIGINAL, "def broken(:\n")
    assert not r["neutral"] and "does not parse" in r["error"]


def test_deep_nesting_is_not_neutral_and_does_not_crash():
    deep = "x = " + "(" * 5000 + "1" + ")" * 5000 + "\n"
    r = check(deep, deep)
    assert r["neutral"] is False


def test_the_script_reads_json_and_writes_json():
    data = {"files": [{"path": "a.py", "before": "x = 1\n", "after": "x = 1  # same\n"},
                      {"path": "b.py", "before": "x = 1\n", "after": "x = 2\n"}]}
    out = subprocess.run([sys.executable, "-I", str(SCRIPT)], input=json.dumps(data), capture_output=True, text=True, check=True)
    results = json.loads(out.stdout)["results"]
    assert [r["neutral"] for r in results] == [True, False]


def test_walrus_nonlocal_match_and_except_names_rename_consistently():
    cases = [
        ("def f(xs, /):\n    got = [y := x for x in xs]\n    return got, y\n",
         "def f(xs, /):\n    got = [z := w for w in xs]\n    return got, z\n"),
        ("def f():\n    n = 0\n    def g():\n        nonlocal n\n        n += 1\n    g()\n    return n\n",
         "def f():\n    m = 0\n    def g():\n        nonlocal m\n        m += 1\n    g()\n    return m\n"),
        ("def f(v, /):\n    match v:\n        case [a, *rest]:\n            return a, rest\n",
         "def f(v, /):\n    match v:\n        case [b, *others]:\n            return b, others\n"),
        ("def f(g, /):\n    try:\n        return g()\n    except ValueError as e:\n        return str(e)\n",
         "def f(g, /):\n    try:\n        return g()\n    except ValueError as err:\n        return str(err)\n"),
    ]
    for before, after in cases:
        r = check(after, before)
        assert r["neutral"], before


def test_lambda_parameters_and_self_keep_their_names():
    assert not check("f = lambda y: y + 1\n", "f = lambda x: x + 1\n")["neutral"]
    before = "class C:\n    def m(self, a, /):\n        return self.k * a\n"
    keyword = "class C:\n    def m(self, a):\n        return self.k * a\n"
    assert not check("class C:\n    def m(me, a):\n        return me.k * a\n", keyword)["neutral"]
    assert check("class C:\n    def m(self, b, /):\n        return self.k * b\n", before)["neutral"]


def test_no_reordering_inside_try_or_with():
    before = "def f(a, b):\n    try:\n        x = a / b\n        y = 1\n    except ZeroDivisionError:\n        return y\n    return x\n"
    after = "def f(a, b):\n    try:\n        y = 1\n        x = a / b\n    except ZeroDivisionError:\n        return y\n    return x\n"
    assert not check(after, before)["neutral"]
