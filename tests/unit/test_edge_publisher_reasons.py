"""A failed publish is logged with its reason, not "unhandled errors in a TaskGroup (N sub-exceptions)"."""

from __future__ import annotations

from stationpipe.edge.publisher import reasons
from stationpipe.kernel.errors import UndeliveredError


def test_nested_groups_give_each_leaf_message_once_in_order() -> None:
    held = [UndeliveredError("stations/s1/readings", 0x10) for _ in range(3)]
    refused = UndeliveredError("stations/s1/readings", 0x87)
    group = ExceptionGroup("unhandled errors in a TaskGroup", [ExceptionGroup("inner", [*held, refused])])
    assert reasons(group) == (
        "stations/s1/readings: no subscriber took it; "
        "stations/s1/readings: the broker refused it (reason 0x87)"
    )


def test_one_leaf_is_its_message() -> None:
    error = UndeliveredError("t", 0x10)
    assert reasons(ExceptionGroup("g", [error])) == str(error)
