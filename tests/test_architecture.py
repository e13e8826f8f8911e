"""The import graph of ``eifer`` follows docs/architecture.md.

Every ``import`` of an ``eifer`` module is read with :mod:`ast`, including the
ones inside functions (they hide circles from Python's import machinery, not
from a reader). Asserted:

* no circle between the top-level units of the package (``eifer.frames``,
  ``eifer.io``, ...), counting module-level and function-local imports;
* no circle between modules at module level (what Python itself would trip over);
* no import from a lower layer up into a higher one (base helpers < study,
  run folder < analysis stages < report < pipeline, results, cli), so e.g.
  stats cannot import the report;
* no stage importing another stage's private (``_``-prefixed) module or name.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PKG = SRC / "eifer"

# docs/architecture.md, "Layers": a unit may import only from its own layer or the ones below it
BASE = {"errors", "io", "config", "utils", "logs", "parallel", "plan", "_tables", "_validation"}
CORE = {"study", "runfolder", "synth", "model"}
ANALYSIS = {"ei", "physio", "hrv", "labels", "frames", "affect", "cutoff", "select", "data", "split", "train",
            "transfer_cv", "evaluate", "stats"}
PRESENTATION = {"report"}  # reads every stage's outputs; no analysis stage imports it
STAGES = ANALYSIS | PRESENTATION
TOP = {"pipeline", "results", "cli", "__init__"}
LAYER = {**{u: 0 for u in BASE}, **{u: 1 for u in CORE}, **{u: 2 for u in ANALYSIS}, **{u: 3 for u in PRESENTATION},
         **{u: 4 for u in TOP}}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> list[tuple[str, int, bool]]:
    """(imported module or module.name, line, at module level) for every eifer import in ``path``."""
    mod = _module_name(path)
    package = mod if path.name == "__init__.py" else mod.rsplit(".", 1)[0]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top = {id(n) for n in tree.body}
    # imports under ``if TYPE_CHECKING:`` never run
    typing_only = {id(n) for b in tree.body if isinstance(b, ast.If) and "TYPE_CHECKING" in ast.unparse(b.test)
                   for n in ast.walk(b)}
    out = []
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            out += [(a.name, node.lineno, id(node) in top) for a in node.names if a.name.split(".")[0] == "eifer"]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] == "eifer":
                out += [(f"{target}.{a.name}", node.lineno, id(node) in top) for a in node.names]
    return out


def _graph() -> dict[str, list[tuple[str, int, bool]]]:
    return {_module_name(p): _imports(p) for p in sorted(PKG.rglob("*.py"))}


GRAPH = _graph()
MODULES = set(GRAPH)


def _resolve(target: str) -> str:
    """The eifer module an import names (``eifer.frames.stage.run_frames`` -> ``eifer.frames.stage``)."""
    while target and target not in MODULES:
        target = target.rsplit(".", 1)[0] if "." in target else ""
    return target


def _unit(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _cycle(edges: dict[str, set[str]]) -> list[str]:
    """One cycle of the directed graph, or []."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(n: str) -> list[str]:
        state[n] = 1
        stack.append(n)
        for m in sorted(edges.get(n, ())):
            if state.get(m) == 1:
                return stack[stack.index(m):] + [m]
            if m not in state:
                found = visit(m)
                if found:
                    return found
        stack.pop()
        state[n] = 2
        return []

    for n in sorted(edges):
        if n not in state:
            found = visit(n)
            if found:
                return found
    return []


def _unit_edges() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {}
    for mod, imps in GRAPH.items():
        for target, _, _ in imps:
            a, b = _unit(mod), _unit(_resolve(target))
            if a != b and "__init__" not in (a, b):  # the root package is the public facade only
                edges.setdefault(a, set()).add(b)
    return edges


def test_every_unit_has_a_layer():
    units = {_unit(m) for m in MODULES} - {"__init__"}
    assert units - set(LAYER) == set(), "add the new unit to a layer here and in docs/architecture.md"


def test_no_circle_between_units_counting_function_local_imports():
    assert _cycle(_unit_edges()) == []


def test_no_circle_between_modules_at_module_level():
    edges: dict[str, set[str]] = {}
    for mod, imps in GRAPH.items():
        for target, _, top in imps:
            t = _resolve(target)
            # a package importing its own submodules is how packages are built, not a circle
            if top and t != mod and not t.startswith(mod + ".") and mod != "eifer":
                edges.setdefault(mod, set()).add(t)
    assert _cycle(edges) == []


def test_no_import_up_the_layers():
    bad = [f"{mod}:{line} imports {target}" for mod, imps in GRAPH.items() for target, line, _ in imps
           if LAYER[_unit(mod)] < LAYER[_unit(_resolve(target))]]
    assert bad == []


def test_no_stage_imports_another_stages_private_module():
    bad = []
    for mod, imps in GRAPH.items():
        for target, line, _ in imps:
            res = _resolve(target)
            a, b = _unit(mod), _unit(res)
            if a in STAGES and b in STAGES and a != b:
                rest = target.split(".")[2:]
                if any(p.startswith("_") and p != "__init__" for p in rest):
                    bad.append(f"{mod}:{line} imports {target}")
    assert bad == []


@pytest.mark.parametrize("source, expected", [
    ({"a": {"b"}, "b": {"c"}, "c": {"a"}}, ["a", "b", "c", "a"]),
    ({"a": {"b"}, "b": {"c"}, "c": set()}, []),
])
def test_cycle_finder(source, expected):
    """The checker itself finds a planted circle and none where there is none."""
    assert _cycle(source) == expected


def test_function_local_imports_are_seen(tmp_path):
    f = PKG / "frames" / "extract.py"
    local = [t for t, _, top in _imports(f) if not top]
    assert local, "frames/extract.py has function-local imports; the walker must see them"
