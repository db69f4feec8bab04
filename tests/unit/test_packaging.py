"""What `pip install .` puts on a machine: one import root, the console script, no test harness.

The wheel is built from this checkout exactly as pip builds it (hatchling, the root pyproject.toml), then
unpacked into a folder and imported from there alone, with every folder of the checkout taken off
``sys.path``: a module that only works because the editable install put the repository on the path fails.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    pip = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation"]
    subprocess.run(
        [*pip, "-w", str(out), "."],
        cwd=ROOT,
        check=True,
        timeout=120,
    )
    (found,) = out.glob("stationpipe-*.whl")
    return found


def test_the_wheel_installs_one_import_root_and_no_harness(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/", 1)[0] for n in names}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"stationpipe"}
    portions = {n.split("/")[1] for n in names if n.startswith("stationpipe/") and n.count("/") >= 2}
    assert portions == {
        "cli", "kernel", "hj212", "standards", "edge", "collector", "rules", "simulators", "ops",
    }
    assert not [n for n in names if n.startswith("stationpipe/testbed/") or "__pycache__" in n]
    assert "stationpipe/__init__.py" not in names  # a namespace package: portions may be installed apart
    assert "stationpipe/simulators/profiles/water_five.toml" in names  # package data travels


def test_the_console_script_points_at_the_composition_root(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as zf:
        (entry,) = [n for n in zf.namelist() if n.endswith(".dist-info/entry_points.txt")]
        text = zf.read(entry).decode()
    assert "stationpipe = stationpipe.cli:main" in text


def test_the_installed_files_alone_run_the_command(wheel: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(site)
    probe = f"""
import sys
from pathlib import Path
root = Path({str(ROOT)!r})
# the checkout and its portion folders (the editable install's .pth) leave; the venv's packages stay
sys.path = [p for p in sys.path if p and root not in (Path(p).resolve(), Path(p).resolve().parent)]
sys.path.insert(0, {str(site)!r})
import stationpipe.cli
assert all(p.startswith({str(site)!r}) for p in stationpipe.__path__), stationpipe.__path__
try:
    import stationpipe.testbed
except ImportError:
    pass
else:
    raise SystemExit("the test harness is importable from the installed files")
sys.argv = ["stationpipe", "--help"]
stationpipe.cli.main()
"""
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    for verb in ("edge", "collector", "rules", "sim", "hj212", "check"):
        assert verb in done.stdout
