"""The wheel holds the whole package: every subpackage, every config and every data file of the
source tree (a hand-written package list once left ``odegan_jax.reproduce`` out)."""

import os
import subprocess
import sys
import zipfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = os.path.join(ROOT, "odegan_jax")


def _source_files() -> set[str]:
    """Paths (relative to the repository root) a wheel must carry: every module and data file
    under odegan_jax/ that git tracks (untracked scratch files are not the package's)."""
    out = subprocess.run(
        ["git", "ls-files", "odegan_jax"], cwd=ROOT, capture_output=True, text=True
    )
    if out.returncode != 0:
        pytest.skip("not a git checkout: the tracked files are unknown")
    return {p for p in out.stdout.split() if os.path.isfile(os.path.join(ROOT, p))}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> zipfile.ZipFile:
    out = tmp_path_factory.mktemp("wheel")
    # no build isolation: the test extra installs the build backend, nothing is downloaded
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            ROOT,
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(out),
        ],
        check=True,
        capture_output=True,
    )
    (name,) = [f for f in os.listdir(out) if f.endswith(".whl")]
    return zipfile.ZipFile(os.path.join(out, name))


def test_wheel_holds_every_module_config_and_data_file(wheel):
    inside = set(wheel.namelist())
    expected = _source_files()
    missing = sorted(expected - inside)
    assert not missing, f"the wheel lacks {missing}"
    packages = {os.path.dirname(p) for p in expected if p.endswith("__init__.py")}
    for needed in (
        "odegan_jax/reproduce",
        "odegan_jax/configs",
        "odegan_jax/models",
        "odegan_jax/metrics",
        "odegan_jax/data",
    ):
        assert needed in packages
    assert any(p.startswith("odegan_jax/metrics/weights/") and p.endswith(".npz") for p in inside)


def test_wheel_metadata_has_one_version_and_the_license(wheel):
    import odegan_jax

    meta = next(n for n in wheel.namelist() if n.endswith(".dist-info/METADATA"))
    text = wheel.read(meta).decode()
    assert f"Version: {odegan_jax.__version__}\n" in text
    assert "License-Expression: Apache-2.0" in text
    assert any(n.endswith("licenses/LICENSE") for n in wheel.namelist())
    entry = next(n for n in wheel.namelist() if n.endswith("entry_points.txt"))
    assert "odegan = odegan_jax.cli:main" in wheel.read(entry).decode()
