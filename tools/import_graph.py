"""Static import graph of the project's packages, read from their source with ``ast``.

A node is a module (``relate.runs.train``; a package is its ``__init__``); an edge ``a -> b``
says that ``a`` imports ``b`` somewhere: at module level or inside a function, as
``import b``, ``from b import name``, ``from a_package import b`` (``b`` a submodule), a
relative import, or ``importlib.import_module("b")`` with a literal name. Imports under
``if TYPE_CHECKING:`` are left out (they never run). Importing ``a.b.c`` also runs the
packages ``a`` and ``a.b``; those implicit edges are not drawn. Modules named only at run
time (a table of dotted names handed to ``import_module``) are invisible here.

Printed: the number of modules and edges, the cycles (strongly connected components of more
than one module, or a module that imports itself), imports that name no module or name of
the project, and, for each *consumer* module, the *producer* modules it reaches::

    .venv/bin/python tools/import_graph.py [--root DIR] [--consumer PREFIX ...]
        [--producer PREFIX ...]

Without ``--consumer``: every ``relate.evaluation`` module and every module whose last name
contains ``predict`` or ``evaluate``. Without ``--producer``: ``relate.runs``. A prefix
matches the module of that name and the modules below it.
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

PACKAGES = ("relate", "flow_extraction")
DEFAULT_PRODUCERS = ("relate.runs",)
CONSUMER_PACKAGE = "relate.evaluation"
CONSUMER_WORDS = ("predict", "evaluate")

Graph = Mapping[str, frozenset[str]]


@dataclass
class ImportGraph:
    """Modules (name -> source file), edges (name -> imported project modules) and the
    imports that resolve to nothing in the project (``module:line: text``)."""

    files: dict[str, Path]
    edges: dict[str, frozenset[str]]
    unresolved: list[str] = field(default_factory=list)

    @property
    def n_edges(self) -> int:
        return sum(len(targets) for targets in self.edges.values())


def module_files(root: Path, packages: Iterable[str] = PACKAGES) -> dict[str, Path]:
    """Dotted module name -> file for every ``*.py`` under ``root/<package>``."""
    files = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            files[".".join(parts)] = path
    return files


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _runtime_nodes(tree: ast.AST) -> Iterable[ast.AST]:
    """Every node of ``tree`` except the bodies of ``if TYPE_CHECKING:`` blocks."""
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            stack.extend(node.orelse)
            continue
        stack.extend(ast.iter_child_nodes(node))


def _top_level_names(tree: ast.Module) -> set[str] | None:
    """Names a module binds outside functions and classes; None when it may bind any name
    (``from x import *`` or a module ``__getattr__``)."""
    names: set[str] = set()
    stack: list[ast.AST] = list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
            if node.name == "__getattr__":
                return None
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            for alias in node.names:
                if alias.name == "*":
                    return None
                names.add(alias.asname or alias.name.split(".")[0])
            continue
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        if isinstance(node, ast.Lambda):
            continue
        stack.extend(ast.iter_child_nodes(node))
    return names


def _base_package(module: str, is_package: bool, level: int) -> str:
    """The package a relative import of ``level`` dots starts from."""
    parts = module.split(".") if is_package else module.split(".")[:-1]
    return ".".join(parts[: len(parts) - (level - 1)])


def _import_module_target(node: ast.Call) -> str | None:
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
    if name != "import_module" or not node.args:
        return None
    first = node.args[0]
    return first.value if isinstance(first, ast.Constant) and isinstance(first.value, str) else None


def _imports(
    module: str,
    tree: ast.Module,
    files: Mapping[str, Path],
    names: Mapping[str, set[str] | None],
) -> tuple[set[str], list[str]]:
    """(project modules ``module`` imports, its imports that resolve to nothing)."""
    is_package = files[module].name == "__init__.py"
    targets: set[str] = set()
    unresolved: list[str] = []
    ours = tuple(name.split(".")[0] for name in files)

    def need(target: str, line: int, text: str) -> None:
        if target in files:
            targets.add(target)
        elif target.split(".")[0] in ours:
            unresolved.append(f"{module}:{line}: {text} (no module {target})")

    for node in _runtime_nodes(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                need(alias.name, node.lineno, f"import {alias.name}")
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                start = _base_package(module, is_package, node.level)
                base = f"{start}.{base}" if base else start
            if base.split(".")[0] not in ours:
                continue
            for alias in node.names:
                text = f"from {'.' * node.level}{node.module or ''} import {alias.name}"
                if f"{base}.{alias.name}" in files:
                    targets.add(f"{base}.{alias.name}")
                    continue
                need(base, node.lineno, text)
                bound = names.get(base)
                if base in files and bound is not None and alias.name not in bound | {"*"}:
                    unresolved.append(f"{module}:{node.lineno}: {text} (no such name)")
        elif isinstance(node, ast.Call):
            target = _import_module_target(node)
            if target is not None:
                need(target, node.lineno, f'import_module("{target}")')
    return targets, unresolved


def build_graph(root: Path, packages: Iterable[str] = PACKAGES) -> ImportGraph:
    """The import graph of every module under ``root/<package>``."""
    files = module_files(root, packages)
    trees = {
        name: ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for name, path in files.items()
    }
    names = {name: _top_level_names(tree) for name, tree in trees.items()}
    edges: dict[str, frozenset[str]] = {}
    unresolved: list[str] = []
    for name, tree in trees.items():
        targets, missing = _imports(name, tree, files, names)
        edges[name] = frozenset(targets)
        unresolved += missing
    return ImportGraph(files, edges, unresolved)


def strongly_connected(graph: Graph) -> list[list[str]]:
    """Tarjan's components, each sorted; a component comes after every component it
    imports (so the list is an import order, dependencies first)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next((c for c in children if c in graph), None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                components.append(sorted(component))
    return components


def cycles(graph: Graph) -> list[list[str]]:
    """Components of more than one module, and modules that import themselves."""
    return [c for c in strongly_connected(graph) if len(c) > 1 or c[0] in graph[c[0]]]


def import_order(graph: Graph) -> list[str]:
    """Every module, each after the modules it imports (inside a cycle: by name)."""
    return [name for component in strongly_connected(graph) for name in component]


def reachable(graph: Graph, start: str) -> set[str]:
    """Modules ``start`` imports, directly or through others (not ``start`` itself unless
    it is on a cycle)."""
    seen: set[str] = set()
    todo = list(graph.get(start, ()))
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(graph.get(name, ()))
    return seen


def matches(name: str, prefixes: Iterable[str]) -> bool:
    """``name`` is one of ``prefixes`` or a module below one of them."""
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def default_consumers(modules: Iterable[str]) -> list[str]:
    return [
        name
        for name in sorted(modules)
        if matches(name, (CONSUMER_PACKAGE,))
        or any(word in name.rsplit(".", 1)[-1] for word in CONSUMER_WORDS)
    ]


def report(graph: ImportGraph, consumers: list[str], producers: list[str]) -> str:
    """The text :func:`main` prints."""
    lines = [f"modules: {len(graph.files)}", f"edges: {graph.n_edges}"]
    found = cycles(graph.edges)
    lines.append(f"cycles: {len(found)}")
    for component in found:
        lines.append(f"  [{len(component)}] {' <-> '.join(component)}")
        for name in component:
            inside = sorted(graph.edges[name] & set(component))
            lines.append(f"      {name} -> {', '.join(inside)}")
    lines.append(f"unresolved project imports: {len(graph.unresolved)}")
    lines += [f"  {entry}" for entry in graph.unresolved]
    lines.append(f"consumers -> producers ({', '.join(producers)}), transitively:")
    for name in consumers:
        reached = sorted(m for m in reachable(graph.edges, name) if matches(m, producers))
        lines.append(f"  {name}: {', '.join(reached) if reached else '-'}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--root", type=Path, default=Path(__file__).resolve().parents[1], help="repository root"
    )
    parser.add_argument("--consumer", action="append", metavar="PREFIX", help="(repeatable)")
    parser.add_argument("--producer", action="append", metavar="PREFIX", help="(repeatable)")
    args = parser.parse_args(argv)
    graph = build_graph(args.root.resolve())
    if not graph.files:
        parser.error(f"no modules of {PACKAGES} under {args.root}")
    consumers = args.consumer and sorted(
        name for name in graph.files if matches(name, args.consumer)
    )
    print(
        report(
            graph,
            consumers or default_consumers(graph.files),
            args.producer or list(DEFAULT_PRODUCERS),
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
