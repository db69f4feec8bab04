"""``scripts/demo``: the showcase. Ten simulated stations in three cities (river sections and air stations)
-> edge agents -> Mosquitto -> collector -> InfluxDB, with the rules engine raising warnings on MQTT, in
InfluxDB and at a local signed webhook, while a scripted timeline injects a pollution event, a sensor fault
and a haze through the simulator's control channel.

The NH3-N event at 七堡 Qibao pre-warns 盐官 Yanguan downstream on the Qiantang; the river sections'
warnings and pre-warnings reach a local DingTalk robot (signed, markdown; each accepted message is printed)
and the operators' page (预警处置台) is served by the rules engine with a demo account made at start (its
URL and login are printed): open it during the run to acknowledge a warning.

Runs the whole story (about 2.5 minutes) and stops; ``--duration`` compresses or cuts it, ``--duration 0``
keeps running after it until Ctrl-C. Ctrl-C stops at any time. Every process it started is stopped.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import httpx
import typer
from rich.console import Console
from rich.live import Live

from stationpipe.testbed.pipeline import Pipeline, SimStation
from stationpipe.testbed.services import HarnessError, Services, free_port, running_services
from stationpipe.testbed.showcase.desk import USER, PeopleSide
from stationpipe.testbed.showcase.feeds import Seen, Snapshot, WarningFeed, from_webhook, snapshot, unique
from stationpipe.testbed.showcase.fleet import RIVERS, fleet, rules_toml
from stationpipe.testbed.showcase.summary import Summary, render
from stationpipe.testbed.showcase.timeline import Story, Timeline, scale_for, story
from stationpipe.testbed.showcase.view import (
    Frame,
    dashboard,
    fleet_line,
    status_line,
    step_line,
    warning_line,
)
from stationpipe.testbed.webhook import Receiver

#: Seconds between two pictures (and between two checks of the timeline).
TICK = 1.0
#: Seconds the stations get to send their first readings.
READY_TIMEOUT = 90.0
#: After Ctrl-C: seconds to see a child stop by itself, and at most to wait for all of them.
SETTLE_FIRST, SETTLE_LIMIT = 2.0, 15.0
#: Seconds between two status lines when the output is not a terminal.
STATUS_EVERY = 15.0


def _console() -> Console:
    console = Console()
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console = Console(width=160)  # a log file or a pipe: wide lines, no escape codes
    return console


console = _console()


@dataclass
class Run:
    """One running showcase: what it started, what it has seen, and the loop that shows it."""

    svc: Services
    pipe: Pipeline
    feed: WarningFeed
    hook: Receiver
    people: PeopleSide
    timeline: Timeline
    stations: list[SimStation]
    interval: float
    length: float  # stop after this many seconds; 0: at Ctrl-C
    start: float = field(default_factory=time.monotonic)
    snap: Snapshot = field(default_factory=Snapshot)
    printed: int = 0
    last_status: float = 0.0
    stopped: float | None = None  # when the story's clock stopped (monotonic)

    @property
    def elapsed(self) -> float:
        """Seconds of story so far (since every station reported)."""
        return (self.stopped or time.monotonic()) - self.start

    def stop_clock(self) -> None:
        """The story is over: the pictures from now on show its last instant."""
        self.stopped = time.monotonic()

    def webhook(self) -> list[Seen]:
        """Webhook deliveries, once each."""
        return unique([from_webhook(body) for body in self.hook.unique()])

    def frame(self) -> Frame:
        """The picture now."""
        return Frame(
            self.stations,
            self.snap,
            self.feed.seen(),
            len(self.hook.unique()),
            self.hook.bad_signatures,
            self.timeline,
            self.elapsed,
            self.length,
            self.interval,
            time.time() - (time.monotonic() - self.stopped if self.stopped else 0.0),
        )

    def tick(self) -> list[str]:
        """Advance the story, read InfluxDB, check the processes; return log lines for a plain output."""
        self._check()
        lines = [step_line(e) for e in self.timeline.advance(self.elapsed)]
        with contextlib.suppress(httpx.HTTPError):
            self.snap = snapshot(self.svc.influx)
        seen = self.feed.seen()
        names = {st.id: st.name for st in self.stations}
        lines += [warning_line(s, names) for s in seen[self.printed :]]
        self.printed = len(seen)
        lines += self.people.new_lines()
        if self.elapsed - self.last_status >= STATUS_EVERY:
            self.last_status = self.elapsed
            lines.append(f"t={self.elapsed:.0f} s: {status_line(self.frame())}")
        return lines

    def _check(self) -> None:
        dead = {name: proc.returncode for name, proc in self.pipe.procs.items() if proc.poll() is not None}
        if dead and all(code == 0 for code in dead.values()):
            # a service exits 0 only when signalled: the Ctrl-C that reached the whole process group, whose
            # KeyboardInterrupt here may come a moment after the children (which stop within milliseconds)
            raise KeyboardInterrupt
        if dead:
            first = next(name for name, code in dead.items() if code != 0)
            console.print(f"[red]process exited: {dead}[/]\n{self.pipe.log(first)[-2000:]}")
            raise typer.Exit(1)

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> None:
        """Wait until every station has a reading in InfluxDB, then start the story's clock."""
        begun = time.monotonic()
        with console.status("waiting for the stations' first readings…") as status:
            while len(self.snap.latest) < len(self.stations):
                if time.monotonic() - begun > timeout:
                    missing = sorted({st.id for st in self.stations} - set(self.snap.latest))
                    raise HarnessError(f"no readings from {', '.join(missing)} after {timeout:.0f} s")
                self._check()
                time.sleep(0.5)
                with contextlib.suppress(httpx.HTTPError):
                    self.snap = snapshot(self.svc.influx)
                status.update(
                    f"waiting for the stations' first readings: {len(self.snap.latest)}/{len(self.stations)}"
                )
        console.print(f"all {len(self.stations)} stations reporting after {time.monotonic() - begun:.1f} s")
        self.start = time.monotonic()

    def over(self) -> bool:
        """True once the run has lasted its length."""
        return self.length > 0 and self.elapsed >= self.length

    def watch(self) -> bool:
        """Show the run until its end; True when Ctrl-C ended it."""
        try:
            if console.is_terminal:
                self._live()
            else:
                self._plain()
        except KeyboardInterrupt:
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the clean-up short
            return True
        self.timeline.advance(self.elapsed)
        return False

    def settle(self, first: float = SETTLE_FIRST, limit: float = SETTLE_LIMIT) -> None:
        """After Ctrl-C: in a terminal every child got the same SIGINT and is stopping by itself; a SIGTERM
        on top would kill it half-way (exit -15). Wait for them, unless none has gone after ``first``
        seconds (only the demo was signalled: ``kill -INT <pid>``); at most ``limit`` seconds."""
        begun = time.monotonic()
        procs = list(self.pipe.procs.values())
        while any(p.poll() is None for p in procs):
            spent = time.monotonic() - begun
            if spent > limit or (spent > first and all(p.poll() is None for p in procs)):
                return
            time.sleep(0.1)

    def _sleep(self) -> None:
        time.sleep(max(0.0, TICK - (self.elapsed % TICK)))

    def _live(self) -> None:
        with Live(console=console, auto_refresh=False, transient=True, redirect_stdout=False) as live:
            while not self.over():
                for line in self.tick():
                    if "DingTalk" in line:
                        live.console.print(line)
                live.update(dashboard(self.frame(), console), refresh=True)
                self._sleep()

    def _plain(self) -> None:
        while not self.over():
            for line in self.tick():
                console.print(f"[dim]{self.elapsed:6.1f} s[/] {line}")
            self._sleep()


def _intro(run: Run, *, keep: bool) -> None:
    svc = run.svc
    console.print(
        f"[bold]stationpipe demo[/]: mosquitto on 127.0.0.1:{svc.mosquitto.port}, InfluxDB at "
        f"{svc.influx.url} (database {svc.influx.database}), webhook receiver at {run.hook.url}; "
        f"configs and logs in {svc.workdir} ({'kept' if keep else 'removed at the end; --keep keeps them'})"
    )
    console.print(f"{fleet_line(run.stations)}, polled every {run.interval:g} s; rules engine running.")
    people = run.people
    console.print(f"DingTalk robot (local, checks the signature) at {people.robot.url}")
    console.print(
        f"[bold]operators' page 预警处置台[/]: {people.url} login: {USER} / {people.password}"
        " (open it while the story runs to acknowledge a warning; --duration 0 keeps it up)"
    )


def _story_intro(run: Run, plot: Story, control: int) -> None:
    squeeze = f" (compressed ×{plot.scale:.2f} to fit --duration)" if plot.scale < 1 else ""
    console.print(f"[bold]timeline[/]{squeeze}:")
    for entry in run.timeline.entries:
        cut = "  [dim](cut: --duration)[/]" if entry.state == "cut" else ""
        console.print(f"  t={entry.step.at:5.1f} s  {entry.step.zh} · {entry.step.en}{cut}")
    console.print(
        f"scenarios by hand: curl -X POST http://127.0.0.1:{control}/scenarios/<name>/start|stop"
        " · Ctrl-C stops"
    )


def _final(run: Run) -> tuple[Snapshot, bool]:
    try:
        return snapshot(run.svc.influx), True
    except (httpx.HTTPError, HarnessError):
        return run.snap, False


def _show(plot: Story, interval: float, length: float, *, keep: bool) -> Summary:
    with contextlib.ExitStack() as stack:
        svc = stack.enter_context(running_services(keep=keep))
        feed = stack.enter_context(WarningFeed(svc.mosquitto.port))
        hook, control = Receiver(port=free_port()), free_port()
        people = PeopleSide(svc.workdir)
        stations = fleet()  # ports picked now, just before the simulator binds them
        hook.start()
        stack.callback(hook.stop)
        people.start()
        stack.callback(people.stop)
        pipe = Pipeline(
            svc, stations, interval, scenarios=plot.scenarios, control_port=control,
            rules=people.rules_toml() + rules_toml(plot.flag_persist), webhook=hook,
            registry_extra=RIVERS, env=people.env(),
        )  # fmt: skip
        stack.callback(pipe.stop)  # registered first: a start that fails half-way still stops what started
        pipe.__enter__()
        timeline = Timeline(plot, f"http://127.0.0.1:{control}", stop_at=length)
        run = Run(svc, pipe, feed, hook, people, timeline, stations, interval, length)
        _intro(run, keep=keep)
        run.wait_ready()
        _story_intro(run, plot, control)
        interrupted = run.watch()
        run.stop_clock()
        timeline.finish("Ctrl-C" if interrupted else "--duration")
        if interrupted:
            run.settle()
        codes = pipe.stop()
        snap, final = _final(run)
        run.snap = snap
        console.print(dashboard(run.frame()))
        channels = {"mqtt": feed.seen(), "influxdb": snap.warnings, "webhook": run.webhook()}
    services = {"mosquitto": svc.mosquitto.proc, "influxdb": svc.influx.proc}
    codes |= {name: proc.returncode if proc else None for name, proc in services.items()}
    return Summary(
        run.elapsed, interrupted, final, stations, snap.counts, channels, hook.bad_signatures,
        feed.undecodable, timeline.entries, codes, people.to_json(), feed.actions(),
    )  # fmt: skip


def main(
    duration: Annotated[
        float | None,
        typer.Option(
            help="seconds to run once every station reports; the story is compressed (down to 0.4x) or cut "
            "to fit. 0: the whole story, then on until Ctrl-C. Default: the whole story, then stop."
        ),
    ] = None,
    interval: Annotated[float, typer.Option(help="seconds between polls of each instrument")] = 1.0,
    summary_json: Annotated[Path | None, typer.Option(help="also write the summary as JSON here")] = None,
    keep: Annotated[bool, typer.Option("--keep", help="keep the temporary folder (configs, logs)")] = False,  # noqa: FBT002
) -> None:
    """Run the showcase: simulated stations, a scripted story, warnings on every channel, a summary."""
    plot = story(scale_for(duration or 0))
    length = plot.length if duration is None else duration
    try:
        summary = _show(plot, interval, length, keep=keep)
    except HarnessError as exc:
        console.print(f"[bold red]cannot start the demo:[/] {exc}")
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        console.print("[yellow]interrupted before the pipeline was up; everything started is stopped[/]")
        raise typer.Exit(130) from None
    render(summary, console)
    if summary_json is not None:
        summary.write(summary_json)
    if not summary.clean:
        raise typer.Exit(1)


if __name__ == "__main__":
    typer.run(main)
