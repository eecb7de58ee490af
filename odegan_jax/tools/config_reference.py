"""The reference table of every config key: its default and what it means, read from
:func:`odegan_jax.config.base_config` (the values) and its source (the comments).

    python -m odegan_jax.tools.config_reference            # print the markdown
    python -m odegan_jax.tools.config_reference --write    # update docs/configuration.md

``docs/configuration.md`` holds the table between two marker lines; a test fails when the
table there differs from what this prints, so a key added without a comment or a changed
default shows up in review.
"""

from __future__ import annotations

import argparse
import inspect
import os
import re

from odegan_jax import config as config_lib

BEGIN = "<!-- config-reference: begin (python -m odegan_jax.tools.config_reference --write) -->"
END = "<!-- config-reference: end -->"
DOC = os.path.join("docs", "configuration.md")

_ASSIGN = re.compile(r"^\s*c\.([\w.]+) = (.*)$")


def _comments() -> dict[str, str]:
    """key → the comment lines just above its assignment and the one on its line."""
    lines = inspect.getsource(config_lib.base_config).splitlines()
    out, above = {}, []
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("#"):
            above.append(stripped.lstrip("# ").rstrip())
            continue
        m = _ASSIGN.match(line)
        if m:
            key, rest = m.groups()
            trailing = rest.split("  # ", 1)[1].strip() if "  # " in rest else ""
            out[key] = " ".join(above + ([trailing] if trailing else []))
        above = []
    return out


def _leaves(cfg, prefix: str = ""):
    for key in cfg.keys():
        value = cfg[key]
        name = f"{prefix}{key}"
        if hasattr(value, "keys") and not isinstance(value, (str, bytes)):
            yield from _leaves(value, name + ".")
        else:
            yield name, value


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def table() -> str:
    """The markdown table, one row per leaf of ``base_config()``, grouped by section."""
    comments = _comments()
    rows, section = [], None
    for key, value in _leaves(config_lib.base_config()):
        top = key.split(".")[0] if "." in key else "(top level)"
        if top != section:
            section = top
            rows.append(f"\n**{section}**\n\n| key | default | meaning |\n|---|---|---|")
        default = "unset" if value is None else repr(value)
        rows.append(f"| `{key}` | `{_cell(default)}` | {_cell(comments.get(key, ''))} |")
    return "\n".join(rows).strip() + "\n"


def render(text: str) -> str:
    """``text`` (the page) with the part between the markers replaced by :func:`table`."""
    if BEGIN not in text or END not in text:
        raise SystemExit(f"{DOC}: the marker lines are missing:\n{BEGIN}\n{END}")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n\n{table()}\n{END}{tail}"


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--write", action="store_true", help=f"update {DOC} in place")
    args = p.parse_args(argv)
    if not args.write:
        print(table(), end="")
        return
    with open(DOC, encoding="utf-8") as f:
        text = f.read()
    with open(DOC, "w", encoding="utf-8") as f:
        f.write(render(text))
    print(f"wrote {DOC}")


if __name__ == "__main__":
    main()
