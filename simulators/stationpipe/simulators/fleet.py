"""``stationpipe sim``: serve every configured simulated instrument until cancelled.

One task per endpoint, all in one ``TaskGroup``: a Modbus TCP (or RTU-over-TCP) server per
``host:port``, a line per ``[[lines]]`` entry (pymodbus RTU server behind a byte bridge, Bavarian-Hessen
analysers, or instruments printing template records, on a pty or on TCP), an HJ 212 analyser per
``[[analysers]]`` entry, a simulated 4G DTU per ``[[dtus]]`` entry (dialling in to an edge and bridging to
a pty line or an rtu-tcp endpoint), and the HTTP control channel. The path a client opens for each serial
line is logged, and published as the line's ``link`` symlink when one is configured.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field

from stationpipe.hj212 import Version
from stationpipe.kernel.errors import FatalError
from stationpipe.kernel.reading import utc_now
from stationpipe.kernel.registermap import Profile, load_profile
from stationpipe.kernel.units import check_unit
from stationpipe.simulators.board import Board
from stationpipe.simulators.config import HjLogger, SerialLine, SimConfig, SimDevice
from stationpipe.simulators.control import serve as serve_control
from stationpipe.simulators.dtu import SimDtu
from stationpipe.simulators.gnss_sensor import serve_gnss
from stationpipe.simulators.hessen import HessenLine
from stationpipe.simulators.hj212_analyser import Analyser, serve_analyser
from stationpipe.simulators.hj212_logger import DataLogger
from stationpipe.simulators.instrument import Instrument
from stationpipe.simulators.modbus_server import Journal, serial_server, tcp_server
from stationpipe.simulators.model import StationModel
from stationpipe.simulators.pty_line import Bridge, publish_link, remove_link
from stationpipe.simulators.template_instrument import TemplateInstrument, TemplateLine

log = logging.getLogger(__name__)
Opened = Callable[[str, str], None]  # a pty line's name and the path a client (or a DTU) opens


class SimulatorError(FatalError):
    """The simulator cannot serve what it was configured to (a port in use, a pty that fails)."""


def instruments(config: SimConfig, board: Board) -> dict[str, Instrument]:
    """Every configured device with a profile as an instrument, by device name (profiles loaded once per
    path); devices with a template are :func:`template_instruments`."""
    profiles: dict[str, Profile] = {}
    out: dict[str, Instrument] = {}
    for dev in config.devices:
        if dev.profile is None:
            continue
        profile = profiles.get(str(dev.profile)) or load_profile(dev.profile)
        profiles[str(dev.profile)] = profile
        for point in profile.points:
            check_unit(point.parameter, point.unit)
        out[dev.name] = Instrument(dev.name, profile, _model(dev), dev.unit, board)
    return out


def _model(dev: SimDevice) -> StationModel:
    return StationModel.typical(dev.water_class, dev.seed, dev.air_level)


def template_instruments(config: SimConfig, board: Board) -> dict[str, TemplateInstrument]:
    """Every configured device with a template, by device name."""
    return {
        dev.name: TemplateInstrument(
            dev.name, dev.template, _model(dev), dev.unit, board
        )
        for dev in config.devices
        if dev.template is not None
    }


async def _serve_template_line(line: SerialLine, insts: list[TemplateInstrument], on_pty: Opened) -> None:
    sensor = TemplateLine(
        insts,
        baudrate=line.baudrate,
        checksum_errors=line.checksum_errors,
        period=line.period,
        seed=line.seed,
    )
    units = [i.unit for i in insts]
    if line.port is not None:
        log.info("template line %s (units %s): tcp %s:%d", line.name, units, line.host, line.port)
        try:
            await sensor.serve_tcp(line.host, line.port)
        except OSError as exc:
            raise SimulatorError(f"cannot serve {line.host}:{line.port}: {exc}") from exc
        return

    def opened(path: str) -> None:
        publish_link(path, line.link)
        on_pty(line.name, path)
        where = f" (link {line.link})" if line.link else ""
        log.info("serial line %s (template, units %s): open %s%s", line.name, units, path, where)

    try:
        await sensor.serve_pty(opened)
    finally:
        remove_link(line.link)


async def _serve_tcp(
    host: str, port: int, insts: list[Instrument], journal: Journal | None, *, rtu: bool
) -> None:
    server = tcp_server(host, port, insts, journal, rtu=rtu)
    log.info("serving units %s on %s:%d (%s)", [i.unit for i in insts], host, port, "rtu" if rtu else "tcp")
    try:
        await server.serve_forever()
    except (RuntimeError, OSError) as exc:
        raise SimulatorError(f"cannot serve {host}:{port}: {exc}") from exc
    finally:
        await server.shutdown()  # type: ignore[no-untyped-call]


def _garbage_of(insts: list[Instrument]) -> int:
    """Noise bytes to put on the line now: the most any of its devices' scenarios asks for."""
    at = utc_now()
    return max((i.effects(at).garbage for i in insts), default=0)


async def _serve_rtu_line(
    line: SerialLine, insts: list[Instrument], journal: Journal | None, on_pty: Opened
) -> None:
    bridge = Bridge(lambda: _garbage_of(insts))
    server = serial_server(bridge.server.path, line.baudrate, insts, journal)
    publish_link(bridge.client.path, line.link)
    on_pty(line.name, bridge.client.path)
    log.info(
        "serial line %s (rtu, units %s): open %s%s",
        line.name,
        [i.unit for i in insts],
        bridge.client.path,
        f" (link {line.link})" if line.link else "",
    )
    try:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(bridge.run())
            tg.create_task(server.serve_forever())
    finally:
        await server.shutdown()  # type: ignore[no-untyped-call]
        remove_link(line.link)


async def _serve_hessen_line(line: SerialLine, insts: list[Instrument], on_pty: Opened) -> None:
    sensor = HessenLine(insts, line.baudrate, line.bcc_errors, line.seed)
    publish_link(sensor.path, line.link)
    on_pty(line.name, sensor.path)
    log.info(
        "serial line %s (%s, units %s): open %s%s",
        line.name,
        line.protocol,
        [i.unit for i in insts],
        sensor.path,
        f" (link {line.link})" if line.link else "",
    )
    try:
        await sensor.run()
    finally:
        remove_link(line.link)


def _logger(cfg: HjLogger) -> DataLogger:
    log.info("HJ 212 logger %s (MN %s) uploads to %s:%d", cfg.name, cfg.mn, cfg.host, cfg.port)
    model = StationModel.typical(cfg.water_class, cfg.seed)
    return DataLogger(
        cfg.host,
        cfg.port,
        cfg.mn,
        cfg.password,
        model,
        cfg.parameters,
        st=cfg.st,
        interval=cfg.interval,
        hourly=cfg.hourly,
        version=Version.HJ212_2025 if cfg.version == "2025" else Version.HJ212_2017,
        key=cfg.key(),
        heartbeat=cfg.heartbeat,
    )


_Endpoint = tuple[str, int, bool]  # host, port, RTU framing


@dataclass
class _Served:
    """Where each instrument is served: Modbus TCP endpoints, and the instruments of each line."""

    endpoints: dict[_Endpoint, list[Instrument]] = field(default_factory=lambda: defaultdict(list))
    on_line: dict[str, list[Instrument]] = field(default_factory=lambda: defaultdict(list))
    on_template_line: dict[str, list[TemplateInstrument]] = field(default_factory=lambda: defaultdict(list))


def _served(config: SimConfig, board: Board) -> _Served:
    insts, templated = instruments(config, board), template_instruments(config, board)
    served = _Served()
    for dev in config.devices:
        if dev.name in templated:
            assert dev.line is not None  # SimConfig: a template device is on a template line
            served.on_template_line[dev.line].append(templated[dev.name])
        elif dev.line is not None:
            served.on_line[dev.line].append(insts[dev.name])
        else:
            assert dev.port is not None  # the config validator guarantees it
            served.endpoints[(dev.host, dev.port, dev.transport == "rtu-tcp")].append(insts[dev.name])
    return served


def _serve_line(
    line: SerialLine, served: _Served, journal: Journal | None, on_pty: Opened
) -> Coroutine[None, None, None] | None:
    if served.on_template_line[line.name]:
        return _serve_template_line(line, served.on_template_line[line.name], on_pty)
    if not served.on_line[line.name]:
        return None
    if line.protocol == "rtu":
        return _serve_rtu_line(line, served.on_line[line.name], journal, on_pty)
    return _serve_hessen_line(line, served.on_line[line.name], on_pty)


async def run(config: SimConfig, journal: Journal | None = None) -> None:
    """Serve every endpoint, serial line and the control channel; run until cancelled."""
    board = Board.of(config.scenarios)
    served = _served(config, board)
    loop = asyncio.get_running_loop()
    paths: dict[str, asyncio.Future[str]] = {ln.name: loop.create_future() for ln in config.lines}

    def on_pty(name: str, path: str) -> None:
        if not paths[name].done():
            paths[name].set_result(path)

    async with asyncio.TaskGroup() as tg:
        if config.control is not None:
            tg.create_task(serve_control(board, config.control.host, config.control.port))
        for (host, port, rtu), group in served.endpoints.items():
            tg.create_task(_serve_tcp(host, port, group, journal, rtu=rtu))
        for line in config.lines:
            if (serving := _serve_line(line, served, journal, on_pty)) is not None:
                tg.create_task(serving)
        _start_talkers(tg, config, board)
        _start_dtus(tg, config, board, paths)


def _start_dtus(
    tg: asyncio.TaskGroup, config: SimConfig, board: Board, paths: dict[str, asyncio.Future[str]]
) -> None:
    """One task per DTU; a DTU on a line waits for the line's pty."""
    for dtu in config.dtus:
        log.info("dtu %s dials in to %s:%d", dtu.name, dtu.host, dtu.port)
        tg.create_task(SimDtu(dtu, board, paths[dtu.line] if dtu.line is not None else None).run())


def _start_talkers(tg: asyncio.TaskGroup, config: SimConfig, board: Board) -> None:
    """The simulated devices that speak by themselves: data loggers, GNSS receivers, HJ 212 analysers."""
    for lg in config.loggers:
        tg.create_task(_logger(lg).run())
    for receiver in config.gnss:
        tg.create_task(serve_gnss(receiver, board))
    for analyser in config.analysers:
        tg.create_task(serve_analyser(Analyser(analyser, board)))
