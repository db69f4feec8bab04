"""What `pip install .` puts on a machine: one import root, the console script, no test harness; and what
a field PC gets from `pip install ./kernel ./edge`: the edge agent and nothing else.

Wheels are built from this checkout exactly as pip builds them (hatchling, each folder's pyproject.toml),
then unpacked into a folder and imported from there alone, with every folder of the checkout taken off
``sys.path``: a module that only works because the editable install put the repository on the path fails.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


PORTIONS = ("kernel", "edge", "collector", "rules", "simulators", "ops")


def build(folder: Path, out: Path) -> Path:
    """The wheel pip builds from ``folder``."""
    pip = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation"]
    subprocess.run([*pip, "-w", str(out), str(folder)], cwd=ROOT, check=True, timeout=120)
    (found,) = out.glob("*.whl")
    return found


def run_alone(wheels: list[Path], site: Path, code: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` with only ``wheels`` (unpacked into ``site``) and the venv's third-party packages."""
    for whl in wheels:
        with zipfile.ZipFile(whl) as zf:
            zf.extractall(site)
    probe = f"""
import sys
from pathlib import Path
root = Path({str(ROOT)!r})
# the checkout and its portion folders (the editable install's .pth) leave; the venv's packages stay
sys.path = [p for p in sys.path if p and root not in (Path(p).resolve(), Path(p).resolve().parent)]
sys.path.insert(0, {str(site)!r})
import stationpipe
assert all(p.startswith({str(site)!r}) for p in stationpipe.__path__), stationpipe.__path__
{code}
"""
    return subprocess.run(
        [sys.executable, "-c", probe], cwd=site, capture_output=True, text=True, timeout=60, check=False
    )


def importable(name: str) -> str:
    """Probe code: exit non-zero unless ``name`` imports."""
    return f"import importlib; importlib.import_module({name!r})"


def absent(name: str) -> str:
    """Probe code: exit non-zero if ``name`` imports."""
    return (
        f"try:\n    __import__({name!r})\nexcept ImportError:\n    pass\n"
        f"else:\n    raise SystemExit({name!r} + ' is installed')"
    )


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(ROOT, tmp_path_factory.mktemp("wheel"))


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
    assert "stationpipe/kernel/profiles/water_five.toml" in names  # package data travels
    assert "stationpipe/kernel/profiles/teledyne-t400.toml" in names
    assert "stationpipe/kernel/ascii_templates/vaisala-wxt520.toml" in names  # ASCII record templates too


def test_the_console_script_points_at_the_composition_root(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as zf:
        (entry,) = [n for n in zf.namelist() if n.endswith(".dist-info/entry_points.txt")]
        text = zf.read(entry).decode()
    assert "stationpipe = stationpipe.cli:main" in text


def test_the_installed_files_alone_run_the_command(wheel: Path, tmp_path: Path) -> None:
    code = "\n".join(
        (absent("stationpipe.testbed"), "import stationpipe.cli", "sys.argv = ['stationpipe', '--help']")
    )
    code += "\nstationpipe.cli.main()"
    done = run_alone([wheel], tmp_path, code)
    assert done.returncode == 0, done.stderr
    for verb in ("edge", "collector", "rules", "sim", "hj212", "check"):
        assert verb in done.stdout


def test_a_field_pc_installs_just_the_edge_agent(tmp_path: Path) -> None:
    wheels = [build(ROOT / name, tmp_path / f"{name}-wheel") for name in ("kernel", "edge")]
    names = {n for whl in wheels for n in zipfile.ZipFile(whl).namelist() if n.startswith("stationpipe/")}
    assert {n.split("/")[1] for n in names} == {"kernel", "hj212", "standards", "edge"}
    code = "\n".join(
        (importable("stationpipe.edge.agent"), absent("stationpipe.collector"), absent("stationpipe.rules"))
    )
    code += "\nfrom stationpipe.kernel.ascii_template import resolve\nresolve('vaisala-wxt520', None)"
    code += "\nfrom stationpipe.edge.cli import app\nsys.argv = ['stationpipe-edge', '--help']\napp()"
    done = run_alone(wheels, tmp_path / "site", code)
    assert done.returncode == 0, done.stderr
    assert "--config" in done.stdout


def test_a_field_pc_resolves_a_shipped_profile_by_name(tmp_path: Path) -> None:
    wheels = [build(ROOT / name, tmp_path / f"{name}-wheel") for name in ("kernel", "edge")]
    names = {n for whl in wheels for n in zipfile.ZipFile(whl).namelist()}
    shipped = sorted(p.name for p in (ROOT / "kernel/stationpipe/kernel/profiles").glob("*.toml"))
    assert {f"stationpipe/kernel/profiles/{name}" for name in shipped} <= names
    config = tmp_path / "edge.toml"
    config.write_text(
        'kind = "edge"\nstation = "s1"\nstate_dir = "state"\n[mqtt]\nhost = "127.0.0.1"\nclient_id = "e"\n'
        '[[devices]]\nname = "o3"\nprofile = "teledyne-t400"\n'
        '[devices.transport]\nhost = "127.0.0.1"\nport = 5020\n',
        encoding="utf-8",
    )
    code = f"""
import stationpipe.kernel.registermap as rm
assert rm.__file__.startswith({str(tmp_path / "site")!r}), rm.__file__
from stationpipe.edge.config import EdgeConfig
from stationpipe.kernel.cli import load_checked
device = load_checked(Path({str(config)!r}), EdgeConfig).devices[0]
print(device.register_map.model, len(rm.profile_names()))
"""
    done = run_alone(wheels, tmp_path / "site", code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["Teledyne", "API", "T400", "/", "400E", str(len(shipped))]


def _requirements(folder: Path) -> tuple[str, dict[str, str]]:
    project = tomllib.loads((folder / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    deps = {}
    for req in project["dependencies"]:
        name = re.split(r"[<>=!~; ]", req, maxsplit=1)[0]
        deps[name.lower()] = req
    return project["version"], deps


def test_the_portions_and_the_whole_agree() -> None:
    version, whole = _requirements(ROOT)
    parts: dict[str, str] = {}
    for name in PORTIONS:
        part_version, deps = _requirements(ROOT / name)
        assert part_version == version, f"{name}/pyproject.toml: version {part_version}, the root {version}"
        if name != "kernel":
            assert deps.pop("stationpipe-kernel") == f"stationpipe-kernel=={version}", name
        for dep, req in deps.items():
            assert whole.get(dep) == req, f"{name}/pyproject.toml: {req!r}; the root has {whole.get(dep)!r}"
        parts |= deps
    assert set(whole) == set(parts), "the root's dependencies are exactly the union of the portions'"
