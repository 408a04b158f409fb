"""The import graph of ``relate`` and ``flow_extraction`` (tools/import_graph.py): no cycles,
evaluation independent of training, flow_extraction below relate.data, every import resolves,
and every module imports in a fresh interpreter.

The graph is static (``ast``, imports at module level and inside functions; ``if
TYPE_CHECKING:`` blocks left out), so the last tests also import the modules for real.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import pytest
from conftest import REPO_ROOT

TRAINING_SIDE = (
    "relate.runs.train",
    "relate.runs.distilled",
    "relate.runs.bridge",
    "relate.runs.engine",
)
"""What prediction and evaluation must not import, directly or through other modules (a name
also covers the modules below it)."""

EVALUATION_SIDE = ("relate.evaluation",)
"""Prediction (``relate.evaluation.predict``), evaluation and the metrics."""

FLOW_EXTRACTION_MAY_USE = ("relate.errors", "relate.io")
"""The only relate modules flow_extraction may reach: relate imports flow_extraction (the
synthetic videos, ``relate flow``/``features``), never the other way round."""

NOT_IMPORTABLE = ("relate.__main__",)
"""Modules that run something when imported."""


def load_import_graph():
    path = REPO_ROOT / "tools/import_graph.py"
    spec = importlib.util.spec_from_file_location("import_graph", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["import_graph"] = module
    spec.loader.exec_module(module)
    return module


import_graph = load_import_graph()


@pytest.fixture(scope="module")
def graph():
    return import_graph.build_graph(REPO_ROOT)


def run_python(code: str, timeout: float = 300) -> dict:
    """Run ``code`` in a fresh interpreter at the repository root; its last line as JSON."""
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- the graph itself ------------------------------------------------------------------------


def test_the_graph_sees_every_kind_of_import(tmp_path) -> None:
    package = tmp_path / "relate"
    (package / "sub").mkdir(parents=True)
    sources = {
        "__init__.py": "",
        "a.py": "import relate.b\n",
        "b.py": "def f():\n    from relate.sub import c\n",
        "sub/__init__.py": "from . import d\n",
        "sub/c.py": "from ..e import x\nfrom relate.sub.d import NAME\n",
        "sub/d.py": (
            "from typing import TYPE_CHECKING\nimport importlib\nNAME = 1\n"
            "if TYPE_CHECKING:\n    import relate.a\n"
            "def g():\n    importlib.import_module('relate.e')\n"
        ),
        "e.py": "from relate import missing\nimport relate.gone\n",
    }
    for name, text in sources.items():
        (package / name).write_text(text)
    built = import_graph.build_graph(tmp_path, packages=("relate",))
    assert dict(built.edges) == {
        "relate": frozenset(),
        "relate.a": {"relate.b"},
        "relate.b": {"relate.sub.c"},  # inside a function
        "relate.sub": {"relate.sub.d"},  # relative, a submodule
        "relate.sub.c": {"relate.e", "relate.sub.d"},  # two dots; a name from a module
        "relate.sub.d": {"relate.e"},  # import_module("..."); TYPE_CHECKING left out
        "relate.e": {"relate"},  # a name (here: none) from the package's __init__
    }
    assert sorted(built.unresolved) == [
        "relate.e:1: from relate import missing (no such name)",
        "relate.e:2: import relate.gone (no module relate.gone)",
        "relate.sub.c:1: from ..e import x (no such name)",
    ]
    loop = {"x": frozenset({"y"}), "y": frozenset({"z"}), "z": frozenset({"x"}), "w": {"w"}}
    assert import_graph.cycles(loop) == [["w"], ["x", "y", "z"]]
    assert import_graph.cycles(built.edges) == []
    order = import_graph.import_order(built.edges)
    assert order.index("relate.b") < order.index("relate.a")
    assert order.index("relate.e") < order.index("relate.sub.d") < order.index("relate.sub.c")


def test_the_graph_covers_both_packages(graph) -> None:
    names = set(graph.files)
    assert {"relate.cli", "relate.evaluation.predict", "flow_extraction.video"} <= names
    assert "relate.data.synthetic_videos" in graph.edges["relate.commands.synth_videos"]
    assert graph.n_edges > len(names)


# --- the rules -------------------------------------------------------------------------------


def test_no_import_cycles(graph) -> None:
    found = import_graph.cycles(graph.edges)
    described = [
        " <-> ".join(component)
        + "".join(
            f"\n    {name} -> {', '.join(sorted(graph.edges[name] & set(component)))}"
            for name in component
        )
        for component in found
    ]
    assert not found, "import cycles:\n  " + "\n  ".join(described)


def test_prediction_and_evaluation_import_nothing_from_training(graph) -> None:
    consumers = [name for name in graph.files if import_graph.matches(name, EVALUATION_SIDE)]
    assert "relate.evaluation.predict" in consumers and "relate.evaluation.evaluate" in consumers
    bad = {}
    for name in sorted(consumers):
        reached = import_graph.reachable(graph.edges, name)
        training = sorted(m for m in reached if import_graph.matches(m, TRAINING_SIDE))
        if training:
            bad[name] = training
    assert not bad, f"evaluation modules reaching the training side: {bad}"


def test_flow_extraction_uses_only_relates_leaf_modules(graph) -> None:
    extraction = [name for name in graph.files if name.split(".")[0] == "flow_extraction"]
    reached = {m for name in extraction for m in import_graph.reachable(graph.edges, name)}
    used = sorted(m for m in reached if m.split(".")[0] == "relate")
    assert set(used) <= set(FLOW_EXTRACTION_MAY_USE), used
    assert not any(import_graph.matches(m, ("relate.data",)) for m in reached)
    # the allowed direction exists: relate.data imports flow_extraction
    users = [n for n in graph.files if import_graph.matches(n, ("relate.data",))]
    assert any(m.startswith("flow_extraction") for n in users for m in graph.edges[n])


def test_every_project_import_resolves(graph) -> None:
    assert not graph.unresolved, "imports of nothing:\n  " + "\n  ".join(graph.unresolved)


# --- at run time -----------------------------------------------------------------------------


IMPORT_ALL = """
import importlib, json, sys, traceback
failed = {}
for name in %r:
    try:
        importlib.import_module(name)
    except BaseException:
        failed[name] = traceback.format_exc(limit=3)[-800:]
print(json.dumps(failed))
"""


@pytest.mark.slow
def test_every_module_imports_in_import_order(graph) -> None:
    order = [n for n in import_graph.import_order(graph.edges) if n not in NOT_IMPORTABLE]
    failed = run_python(IMPORT_ALL % (order,))
    assert not failed, "\n".join(f"{name}:\n{text}" for name, text in failed.items())


def test_every_module_on_a_cycle_imports_first_in_a_fresh_interpreter(graph) -> None:
    members = [name for component in import_graph.cycles(graph.edges) for name in component]
    failed = {}
    for name in members:
        failed |= run_python(IMPORT_ALL % ([name],))
    assert not failed, "\n".join(f"{name}:\n{text}" for name, text in failed.items())


def test_at_run_time_too_evaluation_and_flow_extraction_stay_on_their_side(graph) -> None:
    evaluation = sorted(n for n in graph.files if import_graph.matches(n, EVALUATION_SIDE))
    extraction = sorted(n for n in graph.files if n.split(".")[0] == "flow_extraction")
    code = """
import importlib, json, sys
for name in %r:
    importlib.import_module(name)
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] == "relate")))
"""
    loaded = run_python(code % (evaluation,))
    training = [m for m in loaded if import_graph.matches(m, TRAINING_SIDE)]
    assert not training, f"importing {EVALUATION_SIDE} loads {training}"
    loaded = run_python(code % (extraction,))
    beyond = sorted(set(loaded) - {"relate", *FLOW_EXTRACTION_MAY_USE})
    assert not beyond, f"importing flow_extraction loads {beyond}"
