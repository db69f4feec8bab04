"""Coverage-guided fuzzing (atheris, libFuzzer) of the wire decoder, the HJ 212 decoder and the config loader.

Run one target for a bounded number of inputs, seeded with a corpus folder of valid inputs::

    python tests/fuzz/atheris_targets.py wire -runs=20000 corpus/
    python tests/fuzz/atheris_targets.py hj212 -runs=20000 -max_len=12000
    python tests/fuzz/atheris_targets.py config -runs=5000

Any exception other than the project's own error for that input stops the run with the traceback and
a non-zero exit (libFuzzer writes the input as ``crash-<sha1>``); tests/fuzz/test_atheris.py runs each
target briefly. The optional dependency ``atheris`` has wheels for CPython on Linux x86-64.
"""

from __future__ import annotations

import contextlib
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

#: One concrete topic of each family; the first input byte picks one.
TOPICS = (
    "stations/s1/readings",
    "stations/s1/status",
    "derived/s1/water_class",
    "warnings/s1/nh3n-high",
    "deadletter/collector",
)
Target = Callable[[bytes], None]


def targets() -> dict[str, Target]:
    """The fuzz targets, with stationpipe's modules imported under atheris' coverage instrumentation."""
    import atheris  # noqa: PLC0415 - optional: only this script needs it

    with atheris.instrument_imports(include=["station", "collector"]):
        from stationpipe.cli import check_file  # noqa: PLC0415
        from stationpipe.collector.records import decode as collector_decode  # noqa: PLC0415
        from stationpipe.hj212 import Hj212Error, decode  # noqa: PLC0415
        from stationpipe.kernel import wire  # noqa: PLC0415
        from stationpipe.kernel.errors import ConfigError, RejectedError  # noqa: PLC0415

    config = Path(tempfile.mkdtemp(prefix="atheris-config-")) / "fuzz.toml"

    def fuzz_wire(data: bytes) -> None:
        """One MQTT message: the first byte picks the topic family, the rest is the payload."""
        topic = TOPICS[data[0] % len(TOPICS)] if data else TOPICS[0]
        with contextlib.suppress(RejectedError):
            wire.decode(topic, data[1:])
        with contextlib.suppress(RejectedError):
            collector_decode(topic, data[1:])

    def fuzz_hj212(data: bytes) -> None:
        """One HJ 212 frame, as bytes off the socket."""
        with contextlib.suppress(Hj212Error):
            decode(data)

    def fuzz_config(data: bytes) -> None:
        """One configuration file of any kind."""
        config.write_bytes(data)
        with contextlib.suppress(ConfigError):
            check_file(config)

    return {"wire": fuzz_wire, "hj212": fuzz_hj212, "config": fuzz_config}


def main() -> None:
    """``atheris_targets.py TARGET [libFuzzer options and corpus folders]``."""
    import atheris  # noqa: PLC0415

    found = targets()
    if len(sys.argv) < 2 or sys.argv[1] not in found:
        sys.exit(f"usage: {sys.argv[0]} {{{'|'.join(found)}}} [-runs=N] [corpus …]")
    atheris.Setup([sys.argv[0], *sys.argv[2:]], found[sys.argv[1]])
    atheris.Fuzz()


if __name__ == "__main__":
    main()
