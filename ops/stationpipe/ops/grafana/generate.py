"""Write the dashboards as JSON: ``python -m stationpipe.ops.grafana.generate [--out DIR]`` (default
deploy/grafana/dashboards/). The committed files must equal what this produces (a unit test checks)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path

from stationpipe.ops.grafana import air, health, overview, section, warnings
from stationpipe.ops.grafana.panels import JSON

#: file name -> builder, in the order operators navigate
BUILDERS: dict[str, Callable[[], JSON]] = {
    "overview.json": overview.build,
    "section.json": section.build,
    "air.json": air.build,
    "warnings.json": warnings.build,
    "health.json": health.build,
}
DEFAULT_OUT = Path(__file__).resolve().parents[4] / "deploy" / "grafana" / "dashboards"


def dashboards() -> dict[str, JSON]:
    """Every dashboard, by file name."""
    return {name: build() for name, build in BUILDERS.items()}


def render(board: JSON) -> str:
    """The committed text of one dashboard: stable key order, UTF-8 (Chinese kept readable)."""
    return json.dumps(board, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def write(out: Path) -> list[Path]:
    """Write every dashboard into ``out``; returns the paths written."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, board in dashboards().items():
        path = out / name
        path.write_text(render(board), encoding="utf-8")
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder for the JSON files")
    args = parser.parse_args(argv)
    for path in write(args.out):
        print(path)


if __name__ == "__main__":
    main()
