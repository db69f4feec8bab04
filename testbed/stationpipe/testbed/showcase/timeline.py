"""The demo's story: scenarios defined in the simulator's config and the instants at which the demo
switches them through the simulator's control channel (``POST /scenarios/<name>/start|stop``).

Times are seconds after the pipeline is up. The full story lasts :data:`FULL` seconds; a shorter
``--duration`` compresses it (down to :data:`MIN_SCALE`) and cuts what still does not fit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import httpx

from stationpipe.testbed.showcase.fleet import EVENT_STATION, FAULT_STATION, HAZE_STATION

#: Length of the uncompressed story, seconds.
FULL = 140.0
#: Below this the events are too short for the rules to see them (one sample a second).
MIN_SCALE = 0.4
#: NH3-N of the approach, then the peak of the pollution event, as multiples of the GB 3838-2002 class III
#: limit (1.0 mg/L). The approach holds in the blue band (>= 80 % of the limit) for several samples before
#: the event and again after it, so the warning's course shows at every compression.
NH3N_APPROACH, NH3N_MULTIPLE = 0.9, 1.8
#: How much the haze adds to PM2.5 and PM10 by the time it clears, µg/m³.
HAZE_RISE = 160.0
_CONTROL_TIMEOUT = 5.0
#: The story's instants (uncompressed, seconds). NH3-N: the approach starts, the event starts, peaks, starts
#: to fall, is back at the approach's level; the approach starts to fall and is gone. Then the sonde
#: fault, the haze and the end.
_APPROACH, _EVENT, _PEAK, _FALLS, _BACK, _APPROACH_FALLS, _DECAYED = 15.0, 30.0, 45.0, 55.0, 70.0, 75.0, 81.0
_APPROACH_RISE = 8.0
_FAULT, _REPAIRED, _HAZE, _CLEARS = 40.0, 65.0, 85.0, 110.0


def scale_for(duration: float) -> float:
    """How much to compress the story for a run of ``duration`` seconds (0: no limit)."""
    if duration <= 0:
        return 1.0
    return min(1.0, max(MIN_SCALE, duration / FULL))


@dataclass(frozen=True)
class Step:
    """One moment of the story; ``action`` is ``(verb, scenario)`` sent on the control channel, or
    ``None`` for something that happens by itself (shown when its time has come)."""

    at: float
    zh: str
    en: str
    action: tuple[Literal["start", "stop"], str] | None = None


@dataclass(frozen=True)
class Story:
    """The scripted run at one compression ``scale``."""

    scale: float
    steps: tuple[Step, ...]
    scenarios: str
    flag_persist: float

    @property
    def length(self) -> float:
        """Seconds until the story's last step."""
        return self.steps[-1].at


def _pollution(name: str, multiple: float, rise: float, hold: float, decay: float) -> str:
    return (
        f'[[scenarios]]\nname = "{name}"\nkind = "pollution"\ndevices = ["{EVENT_STATION}-nutrients"]\n'
        f'parameter = "nh3n"\nmultiple = {multiple}\nrise = {rise:.2f}\nhold = {hold:.2f}\n'
        f"decay = {decay:.2f}\n\n"
    )


def _scenarios(scale: float) -> str:
    """Two pollution scenarios on the same NH3-N: the simulator applies them in the order they start, so
    the event rises from the approach's level and falls back to it."""
    approach = _pollution(
        "nh3n-approach",
        NH3N_APPROACH,
        _APPROACH_RISE * scale,
        (_APPROACH_FALLS - _APPROACH - _APPROACH_RISE) * scale,
        (_DECAYED - _APPROACH_FALLS) * scale,
    )
    event = _pollution(
        "nh3n-event",
        NH3N_MULTIPLE,
        (_PEAK - _EVENT) * scale,
        (_FALLS - _PEAK) * scale,
        (_BACK - _FALLS) * scale,
    )
    haze_for = (_CLEARS - _HAZE) * scale
    return (
        approach
        + event
        + f'[[scenarios]]\nname = "sonde-fault"\nkind = "fault"\ndevices = ["{FAULT_STATION}-sonde"]\n\n'
        + f'[[scenarios]]\nname = "haze"\nkind = "drift"\ndevices = ["{HAZE_STATION}-air"]\n'
        + f'parameters = ["pm25", "pm10"]\nrate = {HAZE_RISE * 3600 / haze_for:.1f}\n'
    )


def story(scale: float = 1.0) -> Story:
    """The demo's story compressed by ``scale`` (1.0 = :data:`FULL` seconds)."""
    at = [t * scale for t in (0, _APPROACH, _EVENT, _FAULT, _PEAK, _REPAIRED, _BACK, _DECAYED)]
    at += [t * scale for t in (_HAZE, _CLEARS, FULL)]
    steps = (
        Step(at[0], "管线启动, 十个站点上线", "pipeline up, ten stations online"),
        Step(
            at[1],
            "七堡 Ⅲ类断面 氨氮上升, 接近限值",
            f"NH3-N at Qibao (class III section) rising towards the limit, {NH3N_APPROACH:g} mg/L",
            ("start", "nh3n-approach"),
        ),
        Step(
            at[2],
            "七堡 氨氮污染事件",
            f"NH3-N pollution event at Qibao, peak {NH3N_MULTIPLE:g} mg/L",
            ("start", "nh3n-event"),
        ),
        Step(
            at[3],
            "杭长桥 探头故障 (标记 D)",
            "sonde fault at Hangchangqiao (flag D)",
            ("start", "sonde-fault"),
        ),
        Step(at[4], "七堡 氨氮达峰", f"NH3-N at its peak, {NH3N_MULTIPLE:g} × class III limit"),
        Step(at[5], "杭长桥 探头修复", "sonde repaired", ("stop", "sonde-fault")),
        Step(
            at[6],
            "七堡 氨氮回落至限值以下",
            f"NH3-N back to {NH3N_APPROACH:g} mg/L, under the class III limit",
        ),
        Step(at[7], "七堡 污染消退", "NH3-N event has decayed"),
        Step(at[8], "嘉兴学院 细颗粒物上升", "haze at Jiaxing University (PM2.5)", ("start", "haze")),
        Step(at[9], "嘉兴学院 雾霾消散", "haze clears", ("stop", "haze")),
        Step(at[10], "故事结束", "end of the story"),
    )
    return Story(scale, steps, _scenarios(scale), flag_persist=10 * scale)


State = Literal["pending", "done", "failed", "cut"]


@dataclass
class Entry:
    """A step and what became of it: ``fired`` is when it was done (seconds after start); ``error`` why it
    failed, or what cut it (``--duration``, ``Ctrl-C``)."""

    step: Step
    state: State = "pending"
    fired: float | None = None
    error: str = ""


@dataclass
class Timeline:
    """Runs a story against the simulator's control channel at ``control_url``."""

    story: Story
    control_url: str
    stop_at: float = 0.0  # the run's duration; steps after it are cut (0: none)
    entries: list[Entry] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.entries = [
            Entry(s, "cut", error="--duration") if self._beyond(s) else Entry(s) for s in self.story.steps
        ]

    def _beyond(self, step: Step) -> bool:
        """True for a step the run ends before (an action at its very end, too: nothing would follow)."""
        if self.stop_at <= 0:
            return False
        return step.at > self.stop_at or (step.action is not None and step.at >= self.stop_at)

    def advance(self, elapsed: float) -> list[Entry]:
        """Do every pending step whose time has come; return those done (or failed) now."""
        now = [e for e in self.entries if e.state == "pending" and e.step.at <= elapsed]
        for entry in now:
            entry.fired = elapsed
            try:
                if entry.step.action is not None:
                    self._send(*entry.step.action)
                entry.state = "done"
            except httpx.HTTPError as exc:
                entry.state, entry.error = "failed", str(exc) or type(exc).__name__
        return now

    def _send(self, verb: str, scenario: str) -> None:
        url = f"{self.control_url}/scenarios/{scenario}/{verb}"
        httpx.post(url, timeout=_CONTROL_TIMEOUT).raise_for_status()

    def finish(self, why: str = "--duration") -> None:
        """The run is over (``why``): what has not happened is cut."""
        for entry in self.entries:
            if entry.state == "pending":
                entry.state, entry.error = "cut", why
