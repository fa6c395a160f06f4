"""The eLog/ARP loop of the original LUTE: RUNNING first, the run table, the summaries
directory, Kerberos.

Kerberos needs a KDC and a ticket, which this machine has not: the GSSAPI library is
replaced by a stand-in that makes a fixed token (or fails as a missing ticket does), so
everything from the setting to the header the local eLog server checks is exercised,
except the token's cryptography.
"""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest

from lute.io.elog import (
    ElogReporter,
    ReportItem,
    SummariesReporter,
    make_reporters,
    render_summary_plots,
    report_all,
    report_started,
)
from lute.tasks.dataclasses import ElogSummaryPlots
from tests.executor.elog_server import ElogTestServer

TOKEN = b"kerberos-token-for-the-test"
EXECUTION: Dict[str, Any] = {
    "id": 3,
    "managed_task": "PeakFitter",
    "task_name": "FitPeaks",
    "experiment": "mecl1234",
    "run": 7,
    "status": "COMPLETED",
}
ITEMS = [ReportItem.keyvalue("kept", "4"), ReportItem.text("fine")]


@pytest.fixture(autouse=True)
def _direct_connections(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def fake_gssapi(monkeypatch: pytest.MonkeyPatch) -> Iterator[List[str]]:
    """A stand-in ``gssapi`` module: records the service asked for, returns TOKEN."""
    asked: List[str] = []
    module = types.ModuleType("gssapi")

    class NameType:
        hostbased_service = "hostbased"

    class Name:
        def __init__(self, text: str, kind: str) -> None:
            assert kind == NameType.hostbased_service
            self.text = text

    class SecurityContext:
        def __init__(self, *, name: Name, usage: str) -> None:
            assert usage == "initiate"
            asked.append(name.text)

        def step(self) -> bytes:
            if getattr(module, "no_ticket", False):
                raise RuntimeError("No Kerberos credentials available (default cache: FILE:x)")
            return TOKEN

    module.NameType = NameType  # type: ignore[attr-defined]
    module.Name = Name  # type: ignore[attr-defined]
    module.SecurityContext = SecurityContext  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "gssapi", module)
    yield asked


def test_kerberos_requests_carry_a_token_the_server_accepts(
    tmp_path: Path, fake_gssapi: List[str]
) -> None:
    with ElogTestServer(negotiate=TOKEN) as server:
        env = server.environ(LUTE_ELOG_AUTH="kerberos", LUTE_ELOG_ATTEMPTS="1")
        del env["JID_UPDATE_COUNTERS"]
        reporters = make_reporters(str(tmp_path), env)
        report_all(reporters, execution=EXECUTION, items=ITEMS)
        entry, table = server.requests
    assert (entry.status, entry.negotiate, entry.auth) == (200, TOKEN, None)
    assert (table.status, table.negotiate, table.json) == (200, TOKEN, {"kept": "4"})
    assert fake_gssapi == ["HTTP@127.0.0.1", "HTTP@127.0.0.1"]  # a token per request
    assert reporters[-1].last_errors == []  # type: ignore[attr-defined]


def test_the_config_can_ask_for_kerberos(tmp_path: Path, fake_gssapi: List[str]) -> None:
    from lute.io.models.header import ElogSettings

    with ElogTestServer(negotiate=TOKEN) as server:
        settings = ElogSettings(url=server.url, auth="kerberos", timeout=5)
        reporters = make_reporters(str(tmp_path), {}, elog=settings)
        report_all(reporters, execution=EXECUTION, items=[])
        [entry] = server.requests
    assert (entry.status, entry.negotiate) == (200, TOKEN)


def test_without_a_ticket_the_post_fails_saying_so(tmp_path: Path, fake_gssapi: List[str]) -> None:
    sys.modules["gssapi"].no_ticket = True  # type: ignore[attr-defined]
    with ElogTestServer(negotiate=TOKEN) as server:
        env = server.environ(LUTE_ELOG_AUTH="kerberos", LUTE_ELOG_ATTEMPTS="1")
        del env["JID_UPDATE_COUNTERS"]
        reporter = make_reporters(str(tmp_path), env)[-1]
        reporter.report(execution=EXECUTION, items=[])
        assert server.requests == []  # nothing was sent without a token
    [problem] = reporter.last_errors  # type: ignore[attr-defined]
    assert "no Kerberos token for HTTP@127.0.0.1" in problem and "kinit" in problem


def test_kerberos_without_the_extra_is_an_error_at_start_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "gssapi", None)  # import gssapi raises ImportError
    env = {"LUTE_ELOG_URL": "http://127.0.0.1:1", "LUTE_ELOG_AUTH": "kerberos"}
    with pytest.raises(ValueError, match=r"pip install 'lute-executor\[kerberos\]'"):
        make_reporters(str(tmp_path), env)


def test_a_server_asking_for_negotiate_refuses_basic_credentials(tmp_path: Path) -> None:
    with ElogTestServer(negotiate=TOKEN) as server:
        reporter = ElogReporter(elog_url=server.url, auth=("opr", "pw"), attempts=1, timeout=5)
        reporter.report(execution=EXECUTION, items=[])
        [entry] = server.requests
    assert entry.status == 401 and "HTTP 401" in reporter.last_errors[0]


def test_running_is_posted_before_the_outcome(tmp_path: Path) -> None:
    with ElogTestServer() as server:
        reporters = make_reporters(str(tmp_path), server.environ())
        report_started(reporters, execution={**EXECUTION, "status": "PENDING"})
        report_all(reporters, execution=EXECUTION, items=ITEMS)
        counters = server.requests_to("/jid/")
    assert [c.json[0] for c in counters] == [
        {"key": "PeakFitter status", "value": "RUNNING"},
        {"key": "PeakFitter status", "value": "COMPLETED"},
    ]


def test_the_run_table_can_be_switched_off(tmp_path: Path) -> None:
    with ElogTestServer() as server:
        env = server.environ(LUTE_ELOG_RUN_TABLE="0")
        report_all(make_reporters(str(tmp_path), env), execution=EXECUTION, items=ITEMS)
        assert not [r for r in server.requests if "add_run_params" in r.path]
    with ElogTestServer() as server:  # nor is there one without a run
        report_all(
            make_reporters(str(tmp_path), server.environ()),
            execution={**EXECUTION, "run": None},
            items=ITEMS,
        )
        assert not [r for r in server.requests if "add_run_params" in r.path]


def test_summary_pages_are_copied_to_the_summaries_root(tmp_path: Path) -> None:
    page = render_summary_plots(
        ElogSummaryPlots("Scans/Motor", "<p>scan</p>"), str(tmp_path / "local")
    )
    root = tmp_path / "sdf" / "{hutch}" / "{experiment}" / "stats" / "summary"
    reporters = make_reporters(str(tmp_path), {"LUTE_SUMMARIES_ROOT": str(root)})
    [summaries] = [r for r in reporters if isinstance(r, SummariesReporter)]
    report_all(reporters, execution=EXECUTION, items=[ReportItem.plots("Scans/Motor", page)])
    copied = tmp_path / "sdf" / "mec" / "mecl1234" / "stats" / "summary" / "Scans" / "Motor"
    assert (copied / "report.html").read_text() == Path(page).read_text()
    assert summaries.written == [str(copied / "report.html")]
    with pytest.raises(ValueError, match=re.escape("may hold {experiment} and {hutch} only")):
        SummariesReporter("/sdf/{instrument}/summary")
