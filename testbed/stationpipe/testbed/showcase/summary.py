"""What the demo prints at the end (and writes as JSON with ``--summary-json``): points stored per
measurement, the fleet, warnings delivered per channel with the course of the story's warnings (the
pre-warning downstream among them), webhook signature checks, the DingTalk messages the local robot
accepted, the operators' actions published on ``warnings/actions/…`` and the exit code of every process."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from stationpipe.kernel.messages import WarningAction
from stationpipe.testbed.pipeline import SimStation
from stationpipe.testbed.showcase.alerts import instance_sequence
from stationpipe.testbed.showcase.feeds import Seen
from stationpipe.testbed.showcase.fleet import (
    DOWNSTREAM_STATION,
    EVENT_STATION,
    FAULT_STATION,
    HAZE_STATION,
    RULE,
)
from stationpipe.testbed.showcase.timeline import Entry
from stationpipe.testbed.showcase.view import course, fleet_line

#: The warnings the story provokes: (what, station, instance).
WATCHED: tuple[tuple[str, str, str], ...] = (
    ("nh3n-event", EVENT_STATION, f"{RULE.section}.nh3n"),
    ("sonde-fault", FAULT_STATION, f"{RULE.flags}.do"),
    ("haze", HAZE_STATION, f"{RULE.pm25}.pm25"),
    ("prewarning", DOWNSTREAM_STATION, f"{RULE.upstream}.{EVENT_STATION}.{RULE.section}.nh3n"),
)
CHANNELS = ("mqtt", "influxdb", "webhook")
LABELS = ("MQTT", "InfluxDB", "webhook")


@dataclass(frozen=True)
class Summary:
    """The run's outcome. ``counts_final`` is false when InfluxDB had already stopped (Ctrl-C reaches
    every process) and the counts are those of the last picture."""

    elapsed: float
    interrupted: bool
    counts_final: bool
    stations: list[SimStation]
    counts: dict[str, int]
    channels: dict[str, list[Seen]]
    bad_signatures: int
    undecodable: int
    timeline: list[Entry]
    exit_codes: dict[str, int | None]
    dingtalk: dict[str, Any] = field(default_factory=dict)
    actions: list[WarningAction] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        """Every process exited with 0."""
        return all(code == 0 for code in self.exit_codes.values())

    def sequences(self) -> dict[str, dict[str, list[str]]]:
        """Course of each watched warning, per channel."""
        return {
            what: {ch: instance_sequence(self.channels[ch], station, inst) for ch in CHANNELS}
            for what, station, inst in WATCHED
        }

    def to_json(self) -> dict[str, Any]:
        """A plain-data copy for tests and tools."""
        return {
            "elapsed_s": round(self.elapsed, 1),
            "interrupted": self.interrupted,
            "counts_final": self.counts_final,
            "stations": {st.id: {"name": st.name, "kind": st.kind, "city": st.city} for st in self.stations},
            "points": self.counts,
            "warnings": {ch: len(self.channels[ch]) for ch in CHANNELS},
            "sequences": self.sequences(),
            "bad_signatures": self.bad_signatures,
            "undecodable_mqtt": self.undecodable,
            "timeline": [
                {"at": e.step.at, "what": e.step.en, "state": e.state, "error": e.error}
                for e in self.timeline
            ],
            "exit_codes": self.exit_codes,
            "clean": self.clean,
            "dingtalk": self.dingtalk,
            "actions": [
                {
                    "station": a.station,
                    "rule": a.rule,
                    "action": a.action,
                    "user": a.user,
                    "handling": a.handling,
                }
                for a in self.actions
            ],
        }

    def write(self, path: Path) -> None:
        """Write :meth:`to_json` to ``path``."""
        path.write_text(json.dumps(self.to_json(), ensure_ascii=False, indent=2))


def _sequences(summary: Summary) -> Table:
    names = {st.id: st.name for st in summary.stations}
    table = Table(box=None, show_header=False, pad_edge=False, padding=(0, 1))
    table.add_column(no_wrap=True)
    table.add_column()
    for (what, station, inst), per in zip(WATCHED, summary.sequences().values(), strict=True):
        table.add_row(f"[bold]{what}[/] @ {names[station]}", f"[dim]{inst}[/]")
        for ch, label in zip(CHANNELS, LABELS, strict=True):
            table.add_row(f"  {label}", course(per[ch]) if per[ch] else "[dim]—[/]")
    return table


def render(summary: Summary, console: Console) -> None:
    """Print the summary."""
    how = "interrupted (Ctrl-C)" if summary.interrupted else "finished"
    console.rule("[bold]汇总 Summary")
    console.print(f"{how} after {summary.elapsed:.0f} s · {fleet_line(summary.stations)}")
    note = "" if summary.counts_final else " (as last seen: InfluxDB had already stopped)"
    points = ", ".join(f"{name} {n:,}" for name, n in sorted(summary.counts.items(), key=lambda kv: -kv[1]))
    console.print(f"InfluxDB points stored per measurement{note}: {points or 'none'}")
    console.print(f"[bold green]{summary.counts.get('readings', 0):,} readings stored in InfluxDB[/]")
    per = ", ".join(f"{lb} {len(summary.channels[ch])}" for ch, lb in zip(CHANNELS, LABELS, strict=True))
    console.print(
        f"warning states delivered: {per} · webhook bad signatures: {summary.bad_signatures} · "
        f"undecodable on MQTT: {summary.undecodable}"
    )
    refused = len(summary.dingtalk.get("refused", []))
    console.print(
        f"DingTalk messages accepted by the local robot: {summary.dingtalk.get('messages', 0)} "
        f"(refused: {refused}) · operators' actions on warnings/actions/…: "
        + (", ".join(f"{a.action} by {a.user} ({a.station} {a.rule})" for a in summary.actions) or "none")
    )
    console.print("the story's warnings, state by state, as each channel delivered them:")
    console.print(_sequences(summary))
    states = [e.state for e in summary.timeline]
    tally = ", ".join(
        f"{states.count(st)} {st}" for st in ("done", "cut", "failed", "pending") if st in states
    )
    why = sorted({e.error for e in summary.timeline if e.state == "cut"})
    cut = f" (cut by {' and '.join(why)})" if why else ""
    failed = [e for e in summary.timeline if e.state == "failed"]
    errors = "".join(f"\n  [red]failed: {e.step.en}: {e.error}[/]" for e in failed)
    console.print(f"timeline: {len(states)} steps: {tally}{cut}{errors}")
    codes = ", ".join(f"{name} {code}" for name, code in summary.exit_codes.items())
    if summary.clean:
        console.print(f"[bold green]stopped cleanly[/]: exit codes {codes}")
    else:
        console.print(f"[bold red]not every process exited cleanly[/]: exit codes {codes}")
