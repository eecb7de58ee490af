"""The public API is annotated: every public function and public method of a public class in
the package has a type on each parameter (but ``self`` / ``cls``) and on its return."""

from __future__ import annotations

import ast
import os

import odegan_jax

ROOT = os.path.dirname(odegan_jax.__file__)


def _unannotated(path: str) -> list[str]:
    tree = ast.parse(open(path, encoding="utf-8").read())
    out = []

    def check(fn: ast.FunctionDef, owner: str | None = None) -> None:
        if fn.name.startswith("_") and fn.name != "__call__":
            return
        a = fn.args
        params = [*a.posonlyargs, *a.args, *a.kwonlyargs, *(x for x in (a.vararg, a.kwarg) if x)]
        missing = [p.arg for p in params if p.annotation is None and p.arg not in ("self", "cls")]
        if fn.returns is None:
            missing.append("return")
        if missing:
            name = f"{owner}.{fn.name}" if owner else fn.name
            out.append(f"{os.path.relpath(path, ROOT)}:{fn.lineno} {name}: {', '.join(missing)}")

    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            check(node)
        elif isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
            for sub in node.body:
                if isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    check(sub, node.name)
    return out


def test_the_public_api_is_annotated():
    missing = []
    for dirpath, _, files in os.walk(ROOT):
        for f in sorted(files):
            if f.endswith(".py"):
                missing += _unannotated(os.path.join(dirpath, f))
    assert not missing, "unannotated public functions:\n" + "\n".join(missing)


def test_the_check_finds_an_unannotated_function(tmp_path):
    path = tmp_path / "m.py"
    path.write_text("def f(x, y: int) -> int:\n    return y\n\ndef _g(x):\n    return x\n")
    assert _unannotated(str(path)) == [f"{os.path.relpath(path, ROOT)}:1 f: x"]
