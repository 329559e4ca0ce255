"""The package's layers, read from the source with ``ast``: no import cycle between modules, and no module
imports from a layer above its own (imports inside functions and under ``TYPE_CHECKING`` count too)."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.support.paths import ROOT

PACKAGE = ROOT / "offchain"

# Bottom to top; a module may import from its own layer and from the layers below it.
LAYERS: list[set[str]] = [
    {"offchain", "offchain.errors", "offchain.paths", "offchain.defaults", "offchain.redaction",
     "offchain.settings", "offchain.jsonfile"},
    {"offchain.fl"},
    {"offchain.store"},
    {"offchain.holdout"},
    {"offchain.chain"},
    {"offchain.servers"},
    {"offchain.miner"},
    {"offchain.flower"},  # the Flower pool backend (the `flower` extra): a pool backend of the miner layer's seam
    {"offchain.app", "offchain.testing"},
    {"offchain.cli", "offchain.web", "offchain.pool", "offchain.datasets", "offchain.data", "offchain.model",
     "offchain.transforms"},
]


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules(package: Path = PACKAGE) -> dict[str, Path]:
    """Every module of the package: dotted name -> file."""
    return {module_name(p, package.parent): p for p in sorted(package.rglob("*.py"))}


def imported(name: str, path: Path, known: set[str]) -> set[str]:
    """The package's modules that ``name`` imports, anywhere in its file. ``from a.b import c`` names the module
    a.b.c when that is one, else a.b (c is an attribute of it)."""
    is_package = path.name == "__init__.py"
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from the module's own package, then up
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[:len(base) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            targets = [f"{source}.{a.name}" if f"{source}.{a.name}" in known else source for a in node.names]
        else:
            continue
        for target in targets:
            while target and target not in known:  # `import offchain.x.y` of an attribute: its module
                target = target.rpartition(".")[0]
            if target and target != name:
                out.add(target)
    return out


def import_graph(package: Path = PACKAGE) -> dict[str, set[str]]:
    found = modules(package)
    known = set(found)
    return {name: imported(name, path, known) for name, path in found.items()}


def layer_of(module: str) -> int | None:
    for level, members in enumerate(LAYERS):
        if any(module == m or (m != "offchain" and module.startswith(m + ".")) for m in members):
            return level
    return None


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    return sorted(f"{a} (layer {layer_of(a)}) imports {b} (layer {layer_of(b)})" for a, targets in graph.items()
                  for b in targets if layer_of(a) is not None and layer_of(b) is not None
                  and layer_of(b) > layer_of(a))  # type: ignore[operator]


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each as a sorted list."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_every_module_is_on_a_layer() -> None:
    lost = sorted(m for m in modules() if layer_of(m) is None)
    assert lost == [], f"modules on no layer (add them to LAYERS in {__file__}): {lost}"


def test_no_module_imports_from_a_layer_above_its_own() -> None:
    upward = upward_imports(import_graph())
    assert upward == [], "upward imports:\n" + "\n".join(upward)


def test_no_import_cycle_between_modules() -> None:
    found = cycles(import_graph())
    assert found == [], "import cycles (modules importing one another, directly or not):\n" + "\n".join(
        " <-> ".join(c) for c in found)


def test_the_checks_see_what_they_look_for(tmp_path: Path) -> None:
    """On a package made up here: an upward import inside a function and a relative import back make an
    upward import and a cycle, both named; the real graph holds an import made only inside a function."""
    files = {"__init__.py": "", "fl/__init__.py": "", "chain/__init__.py": "",
             "fl/x.py": "def f():\n    from offchain.chain.y import g\n    return g\n",
             "chain/y.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ..fl import x\ng = 1\n"}
    for name, text in files.items():
        (tmp_path / "offchain" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "offchain" / name).write_text(text)
    made_up = import_graph(tmp_path / "offchain")
    assert made_up["offchain.fl.x"] == {"offchain.chain.y"} and made_up["offchain.chain.y"] == {"offchain.fl.x"}
    assert upward_imports(made_up) == ["offchain.fl.x (layer 1) imports offchain.chain.y (layer 4)"]
    assert cycles(made_up) == [["offchain.chain.y", "offchain.fl.x"]]
    graph = import_graph()
    top_level = {n.module for n in ast.parse((PACKAGE / "app" / "run.py").read_text()).body
                 if isinstance(n, ast.ImportFrom)}
    assert "offchain.miner.driver" in graph["offchain.app.run"] and "offchain.miner.driver" not in top_level
