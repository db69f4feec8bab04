"""``stationpipe sim``: serve every configured simulated instrument until cancelled.

One task per endpoint, all in one ``TaskGroup``: a Modbus TCP (or RTU-over-TCP) server per
``host:port``, a pty line per ``[[lines]]`` entry (pymodbus RTU server behind a byte bridge, the
ASCII sensor protocol, or Bavarian-Hessen analysers), a simulated 4G DTU per ``[[dtus]]`` entry (dialling
in to an edge and bridging to a line or an rtu-tcp endpoint), and the HTTP control channel. The path a
client opens for each serial line is logged, and published as the line's ``link`` symlink when one is
configured.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable

from stationpipe.hj212 import Version
from stationpipe.kernel.errors import FatalError
from stationpipe.kernel.reading import utc_now
from stationpipe.kernel.registermap import Profile, load_profile
from stationpipe.kernel.units import check_unit
from stationpipe.simulators.ascii_sensor import AsciiLine
from stationpipe.simulators.board import Board
from stationpipe.simulators.config import HjLogger, SerialLine, SimConfig
from stationpipe.simulators.control import serve as serve_control
from stationpipe.simulators.dtu import SimDtu
from stationpipe.simulators.gnss_sensor import serve_gnss
from stationpipe.simulators.hessen import HessenLine
from stationpipe.simulators.hj212_logger import DataLogger
from stationpipe.simulators.instrument import Instrument
from stationpipe.simulators.modbus_server import Journal, serial_server, tcp_server
from stationpipe.simulators.model import StationModel
from stationpipe.simulators.pty_line import Bridge, publish_link, remove_link

log = logging.getLogger(__name__)


class SimulatorError(FatalError):
    """The simulator cannot serve what it was configured to (a port in use, a pty that fails)."""


def instruments(config: SimConfig, board: Board) -> dict[str, Instrument]:
    """Every configured device as an instrument, by device name (profiles loaded once per path)."""
    profiles: dict[str, Profile] = {}
    out: dict[str, Instrument] = {}
    for dev in config.devices:
        profile = profiles.get(str(dev.profile)) or load_profile(dev.profile)
        profiles[str(dev.profile)] = profile
        for point in profile.points:
            check_unit(point.parameter, point.unit)
        model = StationModel.typical(dev.water_class, dev.seed, dev.air_level)
        out[dev.name] = Instrument(dev.name, profile, model, dev.unit, board)
    return out


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


Opened = Callable[[str, str], None]  # a line's name and the path a client opens


async def _serve_rtu_line(
    line: SerialLine, insts: list[Instrument], journal: Journal | None, opened: Opened
) -> None:
    bridge = Bridge(lambda: _garbage_of(insts))
    server = serial_server(bridge.server.path, line.baudrate, insts, journal)
    publish_link(bridge.client.path, line.link)
    opened(line.name, bridge.client.path)
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


async def _serve_ascii_line(line: SerialLine, insts: list[Instrument], opened: Opened) -> None:
    sensor: AsciiLine | HessenLine
    if line.protocol == "hessen":
        sensor = HessenLine(insts, line.baudrate, line.bcc_errors, line.seed)
    else:
        sensor = AsciiLine(insts)
    publish_link(sensor.path, line.link)
    opened(line.name, sensor.path)
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


def _start_lines(
    tg: asyncio.TaskGroup,
    config: SimConfig,
    on_line: dict[str, list[Instrument]],
    journal: Journal | None,
    opened: Opened,
) -> None:
    """One task per serial line that has devices."""
    for line in config.lines:
        if not on_line[line.name]:
            continue
        if line.protocol == "rtu":
            tg.create_task(_serve_rtu_line(line, on_line[line.name], journal, opened))
        else:
            tg.create_task(_serve_ascii_line(line, on_line[line.name], opened))


def _start_dtus(
    tg: asyncio.TaskGroup, config: SimConfig, board: Board, paths: dict[str, asyncio.Future[str]]
) -> None:
    """One task per DTU; a DTU on a line waits for the line's pty."""
    for dtu in config.dtus:
        log.info("dtu %s dials in to %s:%d", dtu.name, dtu.host, dtu.port)
        tg.create_task(SimDtu(dtu, board, paths[dtu.line] if dtu.line is not None else None).run())


async def run(config: SimConfig, journal: Journal | None = None) -> None:
    """Serve every endpoint, serial line and the control channel; run until cancelled."""
    board = Board.of(config.scenarios)
    insts = instruments(config, board)
    endpoints: dict[tuple[str, int, bool], list[Instrument]] = defaultdict(list)
    on_line: dict[str, list[Instrument]] = defaultdict(list)
    for dev in config.devices:
        if dev.line is not None:
            on_line[dev.line].append(insts[dev.name])
        else:
            assert dev.port is not None  # the config validator guarantees it
            endpoints[(dev.host, dev.port, dev.transport == "rtu-tcp")].append(insts[dev.name])
    loop = asyncio.get_running_loop()
    paths: dict[str, asyncio.Future[str]] = {ln.name: loop.create_future() for ln in config.lines}

    def opened(name: str, path: str) -> None:
        if not paths[name].done():
            paths[name].set_result(path)

    async with asyncio.TaskGroup() as tg:
        if config.control is not None:
            tg.create_task(serve_control(board, config.control.host, config.control.port))
        for (host, port, rtu), group in endpoints.items():
            tg.create_task(_serve_tcp(host, port, group, journal, rtu=rtu))
        for lg in config.loggers:
            tg.create_task(_logger(lg).run())
        _start_lines(tg, config, on_line, journal, opened)
        for receiver in config.gnss:
            tg.create_task(serve_gnss(receiver, board))
        _start_dtus(tg, config, board, paths)
