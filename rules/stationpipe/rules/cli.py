"""``stationpipe rules``: the service (``--config FILE``) and ``rules test`` to tune rules on recorded data.

The composition root (``stationpipe.cli``) mounts :data:`rules_app` as ``rules``.
``rules test --rules FILE --data FILE.jsonl`` replays recorded readings messages (one wire payload per line,
as on ``stations/<id>/readings``; blank lines and ``#`` comments skipped) through the rules with in-memory
state, the arrival time taken as each message's own time, and prints every warning change they raise: a
table, or JSON lines with ``--json`` (the webhook body of :mod:`stationpipe.rules.channels.webhook`). Exit 2
for a bad rules or data file. ``rules user …`` manages the operators' accounts
(:mod:`stationpipe.rules.handling.users_cli`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from stationpipe.kernel import wire
from stationpipe.kernel.config import load
from stationpipe.kernel.errors import ConfigError, WireError
from stationpipe.kernel.reading import StationMessage
from stationpipe.kernel.runtime import run_service, setup_logging
from stationpipe.kernel.wire_topics import readings_topic
from stationpipe.rules.config import RulesConfig
from stationpipe.rules.evaluator import Evaluator
from stationpipe.rules.handling.users_cli import user_app
from stationpipe.rules.notify import Notification

rules_app = typer.Typer(help="Rules engine: run it (--config FILE), or replay data through rules (test).")
rules_app.add_typer(user_app, name="user")
err = Console(stderr=True, highlight=False, soft_wrap=True)
#: The configuration files this service reads, by their ``kind``.
KINDS = {"rules": RulesConfig}


def _load(path: Path) -> RulesConfig:
    try:
        return load(path, RulesConfig)
    except ConfigError as exc:
        err.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(2) from None


@rules_app.callback(invoke_without_command=True)
def service(
    ctx: typer.Context,
    config: Annotated[Path | None, typer.Option("--config", "-c", help='kind = "rules" TOML file')] = None,
    log_level: Annotated[str, typer.Option("--log-level", help="DEBUG, INFO, WARNING, ERROR")] = "INFO",
) -> None:
    """Run the rules engine (reloads its rules on SIGHUP or when the file changes)."""
    if ctx.invoked_subcommand is not None:
        return
    if config is None:
        err.print(ctx.get_help())
        raise typer.Exit(2)
    from stationpipe.rules.engine import run  # noqa: PLC0415 - `rules test` needs no MQTT

    cfg = _load(config)
    setup_logging(log_level)
    raise typer.Exit(run_service("rules", run(cfg, path=config)))


def replay(path: Path) -> Iterator[StationMessage]:
    """The readings messages of a JSONL file; ``WireError`` naming the line for a bad one."""
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            text = line.strip()
            if not text or text.startswith("#"):
                continue
            try:
                station = json.loads(text)["station"]
                msg = wire.decode(readings_topic(station), text.encode())
            except (ValueError, KeyError, TypeError, WireError) as exc:
                raise WireError(f"{path}:{number}", str(exc)) from None
            assert isinstance(msg, StationMessage)
            yield msg


def run_test(config: RulesConfig, data: Path) -> list[Notification]:
    """Every notification the rules raise on the recorded data, in order."""
    evaluator: Evaluator | None = None
    notes: list[Notification] = []
    last: datetime | None = None
    for msg in replay(data):
        if evaluator is None:
            evaluator = Evaluator(config, config.load_registry(), msg.ts)
        notes.extend(evaluator.process(msg, msg.ts).notes)
        notes.extend(evaluator.tick(msg.ts).notes)
        last = msg.ts
    if evaluator is not None and last is not None:
        notes.extend(evaluator.tick(last).notes)
    return notes


@rules_app.command("test")
def replay_command(
    rules: Annotated[Path, typer.Option("--rules", help='kind = "rules" TOML file')],
    data: Annotated[Path, typer.Option("--data", help="recorded readings, one wire payload per line")],
    *,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines instead of a table")] = False,
) -> None:
    """Replay recorded readings through the rules and print the warnings they would raise."""
    config = _load(rules)
    try:
        notes = run_test(config, data)
    except (WireError, OSError) as exc:
        err.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(2) from None
    if as_json:
        for note in notes:
            typer.echo(json.dumps(note.to_json(), ensure_ascii=False))
        return
    table = Table(title=f"{len(notes)} warning changes")
    for header in ("time (UTC)", "station", "rule", "change", "level", "message"):
        table.add_column(header)
    for n in notes:
        table.add_row(wire.rfc3339(n.ts), n.station, n.topic_rule, n.change.value, str(n.level), n.message)
    Console(width=200).print(table)
