"""The module import graph of ``townlet`` (DESIGN §2): no cycles, and the layers point one way.

The graph is read from the source with ``ast``, without importing anything, so an import inside
a function or under ``if TYPE_CHECKING:`` counts as much as one at the top of a module: each is a
dependency someone has to understand. ``from townlet.x import y`` is an edge to the module
``townlet.x.y`` when that is a module, else to ``townlet.x``. Package ``__init__`` files are
modules of their own (named after the package).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from pathlib import Path

PACKAGE = "townlet"
PACKAGE_DIR = Path(__file__).resolve().parents[2] / PACKAGE

Graph = dict[str, set[str]]


def module_files(root: Path = PACKAGE_DIR) -> dict[str, Path]:
    """Every module under ``root`` by dotted name; a package's ``__init__`` is the package."""
    modules: dict[str, Path] = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


def _is_package(name: str, files: Mapping[str, Path]) -> bool:
    return files[name].name == "__init__.py" or any(m.startswith(f"{name}.") for m in files)


def _base_of_relative(module: str, level: int, files: Mapping[str, Path]) -> str:
    """The package a ``from ..x import y`` inside ``module`` is relative to."""
    package = module if _is_package(module, files) else module.rpartition(".")[0]
    for _ in range(level - 1):
        package = package.rpartition(".")[0]
    return package


def _targets(node: ast.AST, module: str, files: Mapping[str, Path]) -> Iterable[str]:
    """The dotted module names one import statement points at (inside the package or not)."""
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
    elif isinstance(node, ast.ImportFrom):
        if node.level:
            base = _base_of_relative(module, node.level, files)
            source = ".".join(part for part in (base, node.module) if part)
        else:
            source = node.module or ""
        for alias in node.names:
            submodule = f"{source}.{alias.name}"
            yield submodule if submodule in files else source


def _owner(name: str, files: Mapping[str, Path]) -> str | None:
    """The package module ``name`` belongs to: itself, or its longest known parent."""
    while name:
        if name in files:
            return name
        name = name.rpartition(".")[0]
    return None


def import_graph(files: Mapping[str, Path] | None = None) -> Graph:
    """Module -> the package modules it imports (every import statement, wherever it stands)."""
    files = module_files() if files is None else files
    graph: Graph = {}
    for module, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        edges: set[str] = set()
        for node in ast.walk(tree):
            for target in _targets(node, module, files):
                owner = _owner(target, files)
                if owner is not None and owner != module:
                    edges.add(owner)
        graph[module] = edges
    return graph


def find_cycles(graph: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (or a self-import), each
    sorted, found with Tarjan's algorithm (iterative, so deep graphs cannot overflow the stack).
    """
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    cycles: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work: list[tuple[str, list[str]]] = [(start, sorted(graph.get(start, ())))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, pending = work[-1]
            if pending:
                child = pending.pop(0)
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, sorted(graph.get(child, ()))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1 or node in graph.get(node, ()):
                    cycles.append(sorted(component))
    return sorted(cycles)


def imports_under(graph: Graph, source: str, target: str) -> list[str]:
    """``module -> imported`` edges from modules in ``source`` to modules in ``target``."""

    def inside(module: str, package: str) -> bool:
        return module == package or module.startswith(f"{package}.")

    return sorted(
        f"{module} -> {imported}"
        for module, edges in graph.items()
        if inside(module, source)
        for imported in edges
        if inside(imported, target)
    )


def test_cycle_finder_finds_a_hand_built_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e"}, "f": set()}
    assert find_cycles(graph) == [["a", "b", "c"], ["e"]]
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []


def test_graph_resolves_submodules_packages_and_relative_imports(tmp_path: Path) -> None:
    root = tmp_path / "pkg"
    (root / "sub").mkdir(parents=True)
    sources = {
        "__init__.py": "from pkg.sub import leaf\n",
        "sub/__init__.py": "from . import leaf\nfrom .leaf import VALUE\n",
        "sub/leaf.py": "VALUE = 1\n",
        "user.py": (
            "from typing import TYPE_CHECKING\n"
            "import pkg.sub.leaf\n"
            "from pkg.sub import VALUE\n"
            "if TYPE_CHECKING:\n    from . import sub\n"
            "def late() -> None:\n    from .sub.leaf import VALUE\n"
        ),
    }
    for name, text in sources.items():
        (root / name).write_text(text)
    files = module_files(root)
    assert set(files) == {"pkg", "pkg.sub", "pkg.sub.leaf", "pkg.user"}
    graph = import_graph(files)
    assert graph["pkg"] == {"pkg.sub.leaf"}
    assert graph["pkg.sub"] == {"pkg.sub.leaf"}
    assert graph["pkg.user"] == {"pkg.sub", "pkg.sub.leaf"}  # TYPE_CHECKING and late ones too


def test_no_import_cycles() -> None:
    cycles = find_cycles(import_graph())
    assert not cycles, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in cycles)


def test_dto_is_a_leaf() -> None:
    """Result objects import nothing of townlet, so every layer can return them."""
    graph = import_graph()
    edges = [e for e in imports_under(graph, "townlet.dto", PACKAGE) if "-> townlet.dto" not in e]
    assert not edges, edges


def test_policy_does_not_import_data() -> None:
    """Data collection and capture drive policies; policies never reach back into data."""
    assert not imports_under(import_graph(), "townlet.policy", "townlet.data")


def test_promotion_rules_are_not_imported_by_the_dto() -> None:
    """Promotion applies its rules to the DTOs; the DTOs do not call the rules back."""
    graph = import_graph()
    assert not imports_under(graph, "townlet.dto", "townlet.promotion")
    assert not imports_under(graph, "townlet.dto", "townlet.telemetry")
