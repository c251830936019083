"""Production logging: one JSON object per line, ISO UTC time, on the stderr of the moment."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import structlog

from linkbridge.log import configure_logging


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """Put back the structlog configuration other tests run under."""
    saved = structlog.get_config()
    try:
        yield
    finally:
        structlog.configure(**saved)


class _BinaryStderr(io.TextIOWrapper):
    """A stand-in stderr whose bytes can be read back."""

    def __init__(self) -> None:
        super().__init__(io.BytesIO(), encoding="utf-8")


def _lines(stream: io.TextIOWrapper) -> list[dict[str, object]]:
    stream.flush()
    raw = stream.buffer.getvalue()  # type: ignore[attr-defined]
    return [json.loads(line) for line in raw.decode("utf-8").splitlines()]


@pytest.mark.usefixtures("restore_logging")
def test_json_lines_on_the_current_stderr(monkeypatch: pytest.MonkeyPatch) -> None:
    configure_logging("info")
    log = structlog.get_logger("linkbridge.test_log")  # cached on first use
    first, second = _BinaryStderr(), _BinaryStderr()
    monkeypatch.setattr(sys, "stderr", first)
    before = datetime.now(UTC)
    log.info("request_finished", path="/innovation/åäö", status=200, when=before)
    monkeypatch.setattr(sys, "stderr", second)  # swapped after the logger was cached
    log.debug("not_shown")
    log.warning("second_line", keys={1: "one"})
    after = datetime.now(UTC)
    [line] = _lines(first)
    assert line["event"] == "request_finished"
    assert (line["path"], line["status"], line["level"]) == ("/innovation/åäö", 200, "info")
    assert line["when"] == before.isoformat()
    stamp = str(line["timestamp"])
    assert stamp.endswith("Z")
    assert len(stamp) == len("2018-02-01T00:00:00.000000Z")
    moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    assert before.replace(microsecond=0) <= moment <= after
    assert [(e["event"], e["keys"]) for e in _lines(second)] == [("second_line", {"1": "one"})]


@pytest.mark.usefixtures("restore_logging")
def test_text_only_stderr_and_console_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    stream = io.StringIO()  # no .buffer: JSON lines still arrive, as text
    monkeypatch.setattr(sys, "stderr", stream)
    configure_logging("info")
    structlog.get_logger("linkbridge.test_log_text").info("as_text", n=1)
    configure_logging("info", json=False)
    structlog.get_logger("linkbridge.test_log_console").info("for_a_terminal", n=2)
    first, second = stream.getvalue().splitlines()
    assert json.loads(first)["event"] == "as_text"
    assert "for_a_terminal" in second
    assert "n=2" in second
