"""Write-response policy: the classification table, and what ``write_all`` keeps and refuses against a
fake InfluxDB 1.x behind httpx's ``MockTransport`` (a third-party client's transport, not our code)."""

from __future__ import annotations

import gzip
import json

import httpx
import pytest

from stationpipe.collector.config import InfluxSettings
from stationpipe.collector.policy import Refused, write_all
from stationpipe.collector.writers.base import retry_after
from stationpipe.collector.writers.influx_answers import raise_for_status
from stationpipe.collector.writers.influx_v1 import V1Writer
from stationpipe.kernel.errors import (
    StationpipeError,
    StoreAuthError,
    StoreRejectedError,
    StoreTooLargeError,
    StoreUnavailableError,
)

_SETTINGS = InfluxSettings.model_validate({"url": "http://influx.invalid:8086", "database": "db"})


@pytest.mark.parametrize(
    ("code", "headers", "error", "after"),
    [
        (204, {}, None, None),
        (200, {}, None, None),
        (400, {}, StoreRejectedError, None),
        (401, {}, StoreAuthError, None),
        (403, {}, StoreAuthError, None),
        (404, {}, StoreUnavailableError, None),
        (413, {}, StoreTooLargeError, None),
        (429, {"Retry-After": "7"}, StoreUnavailableError, 7.0),
        (503, {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, StoreUnavailableError, None),
        (500, {}, StoreUnavailableError, None),
    ],
)
def test_responses_are_classified_by_what_happens_next(
    code: int, headers: dict[str, str], error: type[StationpipeError] | None, after: float | None
) -> None:
    if error is None:
        raise_for_status(code, "", headers)
        return
    with pytest.raises(error) as caught:
        raise_for_status(code, '{"error":"why"}', headers)
    assert "why" in str(caught.value)
    assert getattr(caught.value, "retry_after", None) == after


def test_retry_after_is_seconds_only() -> None:
    assert retry_after({"Retry-After": "2.5"}) == 2.5
    assert retry_after({}) is None


class FakeInflux:
    """InfluxDB 1.x's answers: unparsable lines named in a 400 (the rest written), a type conflict as a
    partial write (the rest written), 413 above ``max_lines``; every write request counted."""

    def __init__(self, max_lines: int = 1000) -> None:
        self.max_lines = max_lines
        self.stored: set[str] = set()
        self.requests = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        assert request.headers["Content-Encoding"] == "gzip"
        lines = gzip.decompress(request.content).decode().split("\n")
        if len(lines) > self.max_lines:
            return httpx.Response(413, json={"error": "Request Entity Too Large"})
        unparsable = [x for x in lines if "bad" in x]
        conflicts = [x for x in lines if "conflict" in x]
        self.stored |= {x for x in lines if x not in unparsable and x not in conflicts}
        if unparsable:
            text = "\n".join(f"unable to parse '{x}': missing fields" for x in unparsable)
            return httpx.Response(400, json={"error": f"partial write: {text} dropped=0"})
        if conflicts:
            error = 'partial write: field type conflict: input field "value" on measurement "readings"'
            return httpx.Response(400, json={"error": f"{error} is type float dropped={len(conflicts)}"})
        return httpx.Response(204)


@pytest.fixture
def fake() -> FakeInflux:
    """A fresh fake server."""
    return FakeInflux(max_lines=64)


async def _write(fake: FakeInflux, lines: list[str]) -> list[Refused]:
    writer = V1Writer(_SETTINGS, transport=httpx.MockTransport(fake))
    try:
        return await write_all(writer, lines)
    finally:
        await writer.aclose()


async def test_named_bad_lines_are_refused_with_their_reason_and_the_rest_written(fake: FakeInflux) -> None:
    lines = [f"m v={i} {i}" for i in range(50)] + ["bad line one", "m v=1 bad"]
    refused = await _write(fake, lines)
    assert refused == [
        Refused("bad line one", "unable to parse: missing fields"),
        Refused("m v=1 bad", "unable to parse: missing fields"),
    ]
    assert fake.stored == set(lines[:50])
    assert fake.requests == 2


async def test_a_type_conflict_is_bisected_down_to_the_conflicting_line(fake: FakeInflux) -> None:
    lines = [f"m v={i} {i}" for i in range(60)]
    lines[37] = "m conflict=1 37"
    refused = await _write(fake, lines)
    assert [r.line for r in refused] == ["m conflict=1 37"]
    assert "type conflict" in refused[0].reason
    assert fake.stored == set(lines) - {lines[37]}
    assert fake.requests <= 2 * 7  # log2(60) levels, two halves each


async def test_a_batch_too_large_is_split_until_it_fits(fake: FakeInflux) -> None:
    lines = [f"m v={i} {i}" for i in range(300)]
    assert await _write(fake, lines) == []
    assert fake.stored == set(lines)


async def test_unavailable_and_auth_errors_propagate_for_the_caller_to_retry_or_stop() -> None:
    for code, error in ((503, StoreUnavailableError), (401, StoreAuthError)):
        transport = httpx.MockTransport(lambda _req, code=code: httpx.Response(code, text="no"))
        writer = V1Writer(_SETTINGS, transport=transport)
        with pytest.raises(error):
            await write_all(writer, ["m v=1 1"])
        await writer.aclose()


async def test_connection_errors_are_transient() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    writer = V1Writer(_SETTINGS, transport=httpx.MockTransport(refuse))
    with pytest.raises(StoreUnavailableError, match="unreachable"):
        await writer.write(["m v=1 1"])
    await writer.aclose()


def test_json_error_bodies_are_unwrapped() -> None:
    with pytest.raises(StoreRejectedError) as caught:
        raise_for_status(400, json.dumps({"message": "v2 says no"}), None)
    assert str(caught.value) == "v2 says no"
