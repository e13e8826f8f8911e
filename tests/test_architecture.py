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
BASE = {"errors", "io", "config", "utils", "logs", "parallel", "plan", "_tables", "_validation", "_yaml"}
CORE = {"study", "runfolder", "synth", "model"}
ANALYSIS = {"ei", "hrv", "labels", "frames", "affect", "cutoff", "select", "split", "train", "transfer_cv",
            "evaluate", "stats", "calibrate"}
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


# docs/architecture.md, "Naming rule": verb_noun (``make_splits``) or, for a function named after the
# quantity it returns, domain_quantity the NeuroKit2 way (``hrv_segment``, ``cutoff_sweep``);
# never noun_verb (``splits_load``). A CLI command's function is ``<command>_cmd``.
VERBS = {"load", "save", "read", "write", "make", "check", "validate", "apply", "select", "choose", "ensure",
         "collect", "merge", "plan", "decode", "encode", "raise", "train", "run", "show", "build", "compute",
         "infer", "create", "parse", "get", "set", "fit", "extract", "estimate", "score", "find", "remove", "map"}
_MODIFIERS = {"cross", "deep"}  # cross_validate, deep_merge: the verb is the second word
_PREPOSITIONS = {"of", "for", "per", "from", "to", "at", "in", "on", "by", "with"}  # metrics_per_run: 'run' is a noun


def _noun_verb(name: str) -> bool:
    """A public function name whose verb comes after a noun (``splits_load``, ``units_plan``)."""
    if name.startswith("_") or name.endswith("_cmd"):
        return False
    words = name.split("_")
    cut = next((i for i, w in enumerate(words) if w in _PREPOSITIONS), len(words))
    words = words[:cut]
    if words and words[0] in _MODIFIERS:
        words = words[1:]
    return bool(words) and words[0] not in VERBS and any(w in VERBS for w in words[1:])


@pytest.mark.parametrize("name, bad", [("splits_load", True), ("units_plan", True), ("ecg_check_file", True),
                                       ("load_splits", False), ("hrv_segment", False), ("cutoff_sweep", False),
                                       ("config_show_cmd", False), ("_weights_load", False),
                                       ("hrv_from_rr", False), ("train_val_split", False),
                                       ("metrics_per_run", False), ("cross_validate", False),
                                       ("deep_merge", False), ("units_map", True), ("frames_run_batched", True)])
def test_naming_rule_checker(name, bad):
    assert _noun_verb(name) is bad


def test_public_functions_are_named_verb_noun():
    bad = []
    for path in sorted(PKG.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        bad += [f"{_module_name(path)}.{n.name} (line {n.lineno})" for n in tree.body
                if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and _noun_verb(n.name)]
    assert not bad, "noun_verb names (rename to verb_noun):\n" + "\n".join(bad)


def test_every_stage_has_its_package_and_runner():
    from eifer.pipeline.stages import STAGES as REGISTRY

    for stage in REGISTRY:
        pkg = stage.name.replace("-", "_")
        assert stage.runner == f"eifer.{pkg}.stage:run_{pkg}", stage
        assert (PKG / pkg / "stage.py").is_file(), stage
        assert f"def run_{pkg}(" in (PKG / pkg / "stage.py").read_text(encoding="utf-8"), stage


def test_paper_to_code_table_names_real_files_and_functions():
    # docs/architecture.md, "From the paper to the code": every file, folder and function it names exists
    doc = (PKG.parents[1] / "docs" / "architecture.md").read_text(encoding="utf-8")
    table = doc.split("## From the paper to the code", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("| §") or line.startswith("| tables")]
    assert len(rows) >= 15, "the paper-to-code table went missing"
    stale = []
    for row in rows:
        folder, current = PKG, None
        for token in row.split("`")[1::2]:
            if token.endswith("/"):
                folder = PKG / token
                stale += [] if folder.is_dir() else [token]
            elif token.endswith(".py"):
                current = PKG / token if "/" in token else folder / token
                folder = current.parent
                stale += [] if current.is_file() else [token]
            elif token.isidentifier() and current is not None and current.is_file():
                tree = ast.parse(current.read_text(encoding="utf-8"))
                names = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
                stale += [] if token in names else [f"{token} in {current.relative_to(PKG)}"]
    assert not stale, f"docs/architecture.md names code that does not exist: {stale}"
