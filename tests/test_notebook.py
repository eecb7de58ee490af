"""The quickstart notebook runs top to bottom (nbclient, a real Jupyter kernel)."""

import os

import nbformat
from nbclient import NotebookClient

HERE = os.path.dirname(os.path.abspath(__file__))


def test_quickstart_notebook_executes(tmp_path, monkeypatch):
    path = os.path.join(HERE, "..", "notebooks", "quickstart.ipynb")
    nb = nbformat.read(path, as_version=4)
    monkeypatch.setenv("ODEGAN_NOTEBOOK_QUICK", "1")
    monkeypatch.setenv("ODEGAN_NOTEBOOK_STEPS", "300")  # the notebook's quick run is 2,000
    NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    outputs = "".join(
        o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
    )
    assert "modes_covered" in outputs and "nfe_g" in outputs and "fid" in outputs
    images = sum(
        1
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
        if "image/png" in o.get("data", {})
    )
    assert images >= 3
