"""`kernel.errors.reasons`: the log line of a failed publish names each distinct error once, unwrapped."""

from __future__ import annotations

from stationpipe.kernel.errors import UndeliveredError, reasons


def test_nested_groups_give_each_leaf_message_once_in_order() -> None:
    held = [UndeliveredError("stations/s1/readings", 0x10) for _ in range(3)]
    refused = UndeliveredError("stations/s1/readings", 0x87)
    group = ExceptionGroup("unhandled errors in a TaskGroup", [ExceptionGroup("inner", [*held, refused])])
    assert reasons(group) == (
        "stations/s1/readings: no subscriber took it (PUBACK reason 0x10); "
        "stations/s1/readings: the broker refused it (PUBACK reason 0x87)"
    )


def test_one_leaf_is_its_message() -> None:
    error = UndeliveredError("t", 0x10)
    assert reasons(ExceptionGroup("g", [error])) == str(error)
