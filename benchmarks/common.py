"""What every benchmark script shares (standard library only: the peer and PyTorch children
import the scripts in their own environments)."""
from __future__ import annotations

import json
import os


def write_results(path: str | None, results: dict) -> None:
    """Writes ``results`` as indented JSON to ``path`` (folders made), when a path is given."""
    if not path:
        return
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        json.dump(results, f, indent=2)
    print(f"wrote {path}")
