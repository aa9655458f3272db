"""The package's structure: no import cycles (module-level and function-level imports alike), the
spec layer independent of the zoo, and the core independent of the command line."""
import ast
import os
import subprocess
import sys

ROOT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "costmodel")


def _modules():
    mods = {}
    for d, _, files in os.walk(ROOT):
        for f in files:
            if f.endswith(".py"):
                path = os.path.join(d, f)
                rel = os.path.relpath(path, os.path.dirname(ROOT))[:-3].replace(os.sep, ".")
                mods[rel[:-9] if rel.endswith(".__init__") else rel] = path
    return mods


def import_graph():
    """module -> the package modules it imports anywhere in its body (static ``import`` and ``from``
    statements, inside functions too; ``importlib.import_module("costmodel.x...")`` with a constant
    or f-string prefix counts as importing every module under that prefix)."""
    mods = _modules()
    edges = {}
    for m, path in mods.items():
        pkg = m if path.endswith("__init__.py") else m.rpartition(".")[0]
        out = set()
        for node in ast.walk(ast.parse(open(path, encoding="utf-8").read())):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = pkg.split(".")[:len(pkg.split(".")) - node.level + 1]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                for a in node.names:
                    cand = f"{target}.{a.name}"
                    out.add(cand if cand in mods else target)
            elif isinstance(node, ast.Import):
                out.update(a.name for a in node.names)
            elif (isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "import_module" and node.args):
                arg = node.args[0]
                prefix = arg.value if isinstance(arg, ast.Constant) else (
                    arg.values[0].value if isinstance(arg, ast.JoinedStr) and arg.values
                    and isinstance(arg.values[0], ast.Constant) else "")
                if isinstance(prefix, str) and prefix.startswith("costmodel"):
                    out.update(x for x in mods if x.startswith(prefix))
        edges[m] = {t for t in out if t in mods and t != m}
    return edges


def cycles(edges):
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, found, counter = {}, {}, [], set(), [], [0]
    sys.setrecursionlimit(max(10_000, sys.getrecursionlimit()))

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_cycle_finder_finds_a_planted_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles():
    found = cycles(import_graph())
    assert not found, f"import cycles: {found}"


def test_core_never_imports_the_cli():
    edges = import_graph()
    cli = {m for m in edges if m == "costmodel.cli" or m.startswith("costmodel.commands")}
    entry = {"costmodel.__main__"}  # ``python -m costmodel`` runs the command line
    bad = {m: sorted(edges[m] & cli) for m in edges if m not in cli | entry and edges[m] & cli}
    assert not bad, f"core modules importing the command line: {bad}"


def test_spec_imports_no_zoo_module():
    code = ("import sys, costmodel.spec; "
            "print(sorted(m for m in sys.modules if m.startswith('costmodel.zoo')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=os.path.dirname(ROOT)).stdout.strip()
    assert out == "[]", out


def test_import_costmodel_stays_light():
    code = ("import sys, costmodel; print(sorted(m for m in ('pandas', 'matplotlib', 'torch', 'onnx', "
            "'onnxruntime', 'yaml', 'click') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=os.path.dirname(ROOT)).stdout.strip()
    assert out == "[]", out


#: the most lines a module may have (small modules: split one that grows past it)
LINE_BUDGET = 600


def test_every_module_is_within_the_line_budget():
    top = os.path.dirname(ROOT)
    over = []
    for sub in ("costmodel", "tests", "benchmarks", "notebooks", "docs"):
        for d, _, files in os.walk(os.path.join(top, sub)):
            for f in files:
                if f.endswith(".py"):
                    path = os.path.join(d, f)
                    with open(path, encoding="utf-8") as fh:
                        n = sum(1 for _ in fh)
                    if n > LINE_BUDGET:
                        over.append(f"{os.path.relpath(path, top)}: {n}")
    assert not over, f"over the {LINE_BUDGET}-line budget: {over}"
