"""The package's import graph: no cycles, config at the bottom, each module importable alone.

The graph counts every ``import`` of an ``odegan_jax`` module anywhere in a file (inside
functions too), so a cycle hidden behind a function-level import is still a cycle."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys

import odegan_jax

ROOT = os.path.dirname(odegan_jax.__file__)


def _modules() -> dict[str, str]:
    mods = {}
    for dirpath, _, files in os.walk(ROOT):
        for f in files:
            if f.endswith(".py"):
                rel = os.path.relpath(os.path.join(dirpath, f), os.path.dirname(ROOT))
                name = rel[:-3].replace(os.sep, ".").removesuffix(".__init__")
                mods[name] = os.path.join(dirpath, f)
    return mods


def _imports(path: str, mods: dict) -> set[str]:
    """The package modules a file imports (``from a import b`` counts a.b when that is a
    module, else a)."""
    found = set()
    for node in ast.walk(ast.parse(open(path, encoding="utf-8").read())):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [
                f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in mods else node.module
                for a in node.names
            ]
        else:
            continue
        found |= {n for n in names if n in mods}
    return found


def _graph() -> dict[str, set[str]]:
    mods = _modules()
    graph = {}
    for name, path in mods.items():
        deps = _imports(path, mods)
        # importing a.b.c runs a/__init__ and a/b/__init__ first
        graph[name] = {d for d in deps if d != name} | {
            ".".join(d.split(".")[:i])
            for d in deps
            for i in range(2, d.count(".") + 1)
            if ".".join(d.split(".")[:i]) != name
            and not name.startswith(".".join(d.split(".")[:i]) + ".")
        }
    return graph


def _cycle(graph) -> list[str] | None:
    state, stack = {}, []

    def visit(n):
        state[n] = "open"
        stack.append(n)
        for m in sorted(graph.get(n, ())):
            if state.get(m) == "open":
                return stack[stack.index(m) :] + [m]
            if m not in state:
                found = visit(m)
                if found:
                    return found
        state[n] = "done"
        stack.pop()
        return None

    for n in sorted(graph):
        if n not in state:
            found = visit(n)
            if found:
                return found
    return None


def test_the_import_graph_has_no_cycle():
    graph = _graph()
    assert {"odegan_jax.train", "odegan_jax.experiment", "odegan_jax.scoring"} <= set(graph)
    assert _cycle(graph) is None, " -> ".join(_cycle(graph))


def test_the_cycle_finder_finds_a_planted_cycle():
    graph = _graph()
    graph["odegan_jax.config"] = graph["odegan_jax.config"] | {"odegan_jax.train"}
    cycle = _cycle(graph)
    assert cycle and cycle[0] == cycle[-1] and "odegan_jax.config" in cycle


def test_config_sits_at_the_bottom():
    graph = _graph()
    assert graph["odegan_jax.config"] <= {"odegan_jax.configs"}, graph["odegan_jax.config"]
    # below the loop and the CLI: nothing imports upward into them (the tools sit beside the
    # CLI, at the top: nothing of the package imports them)
    for name, deps in graph.items():
        assert not any(d.startswith("odegan_jax.tools") for d in deps), name
        if name.startswith("odegan_jax.tools."):
            continue
        if name not in ("odegan_jax.cli",):
            assert "odegan_jax.cli" not in deps, name
        # the population loop is built from the single-run loop's pieces
        if name not in ("odegan_jax.cli", "odegan_jax.train", "odegan_jax.population"):
            assert "odegan_jax.train" not in deps, name
        if name != "odegan_jax.cli":
            assert "odegan_jax.population" not in deps, name


def test_every_module_imports_alone_in_a_fresh_interpreter():
    names = sorted(n for n in _graph() if not n.startswith("odegan_jax.configs."))
    code = (
        "import importlib, sys\n"
        "for name in sys.argv[1:]:\n"
        "    for m in [m for m in sys.modules if m.startswith('odegan_jax')]:\n"
        "        del sys.modules[m]\n"
        "    importlib.import_module(name)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, *names], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]


def test_no_module_below_the_cli_reads_the_environment_or_switches_backends():
    for name, path in _modules().items():
        if name in ("odegan_jax.cli",):
            continue
        text = open(path, encoding="utf-8").read()
        assert "matplotlib.use(" not in text and "matplotlib.pyplot" not in text, name
        if name == "odegan_jax":  # the one exception: XLA's flags are read when JAX starts,
            # so deterministic GPU programs are asked for on import (library, notebook, CLI)
            used = set(re.findall(r"environ(?:\.get\(|\[)\"(\w+)\"", text))
            assert used == {"XLA_FLAGS", "ODEGAN_GPU_DETERMINISTIC"}, used
            assert "getenv" not in text and text.count("environ") == len(
                re.findall(r"environ(?:\.get\(|\[)", text)
            ), "environ used otherwise"
            continue
        assert "os.environ" not in text and "getenv" not in text, name
