"""``stationpipe profiles [show NAME]``: the instrument profiles that ship with stationpipe.

Mounted by ``stationpipe.cli`` as the ``profiles`` group. Without a verb it lists every shipped profile
(name, model, source, invented or real, partial or whole, number of points) as a table; ``show NAME``
prints one profile's points. ``--json`` prints JSON instead: one object per line for the list, one object
for ``show``. A config names a profile by the name these commands print (``profile = "teledyne-t400"``).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from stationpipe.kernel.cli import fail
from stationpipe.kernel.registermap import Point, Profile, profile_names, shipped_profile, unknown_profile

profiles_app = typer.Typer(help="Instrument profiles (register maps) shipped with stationpipe.")
out = Console(highlight=False, soft_wrap=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="print JSON instead of a table")]


def summary(profile: Profile) -> dict[str, Any]:
    """What the list shows of one profile."""
    return {
        "name": profile.name,
        "model": profile.model,
        "source": profile.source,
        "invented": profile.invented,
        "partial": profile.partial,
        "points": len(profile.points),
        "description": profile.description,
    }


def _kind(profile: Profile) -> str:
    if profile.invented:
        return "invented"
    return "real, partial" if profile.partial else "real"


def _document(profile: Profile) -> str:
    """The source without its address (``show`` and ``--json`` print it whole); ``-`` when invented."""
    if profile.invented:
        return "-"
    return profile.source.split(": http", 1)[0]


def _list_table(profiles: list[Profile]) -> Table:
    grid = Table(title="shipped profiles (stationpipe profiles show NAME for the points and the source)")
    grid.add_column("name", no_wrap=True)
    grid.add_column("origin", no_wrap=True)
    grid.add_column("points", justify="right")
    grid.add_column("model")
    grid.add_column("source", ratio=1)
    for profile in profiles:
        grid.add_row(
            profile.name, _kind(profile), str(len(profile.points)), profile.model or "-", _document(profile)
        )
    return grid


def _where(point: Point) -> tuple[str, str]:
    if point.channel is not None:
        return "channel", str(point.channel)
    return point.table.value, str(point.address)


def _points_table(profile: Profile) -> Table:
    base = "channel" if profile.by_channel else f"address (from {profile.address_base})"
    grid = Table("parameter", "table", base, "type", "order", "scale", "offset", "unit", "range")
    for point in profile.points:
        table, where = _where(point)
        span = "-" if point.range is None else f"{point.range[0]:g}..{point.range[1]:g}"
        grid.add_row(
            point.parameter, table, where, point.type.value, point.order.value,
            f"{point.scale:g}", f"{point.offset:g}", point.unit, span,
        )  # fmt: skip
    return grid


@profiles_app.callback(invoke_without_command=True)
def list_profiles(ctx: typer.Context, *, as_json: JsonOpt = False) -> None:
    """List the shipped profiles: name, model, source, invented or real, number of points."""
    if ctx.invoked_subcommand is not None:
        return
    profiles = [shipped_profile(name) for name in profile_names()]
    if as_json:
        for profile in profiles:
            typer.echo(json.dumps(summary(profile), ensure_ascii=False))
        return
    out.print(_list_table(profiles))


NameArg = Annotated[str, typer.Argument(help="profile name, as the list prints it")]


@profiles_app.command("show")
def show(name: NameArg, *, as_json: JsonOpt = False) -> None:
    """Print one shipped profile: where it comes from and every point."""
    if name not in profile_names():
        raise fail(unknown_profile(name))
    profile = shipped_profile(name)
    if as_json:
        typer.echo(json.dumps(profile.model_dump(mode="json", by_alias=True), ensure_ascii=False))
        return
    out.print(f"[bold]{profile.name}[/] ({_kind(profile)}): {profile.description}")
    if profile.model:
        out.print(f"model:  {profile.model}")
    out.print(f"source: {profile.source or '-'}")
    out.print(_points_table(profile))
