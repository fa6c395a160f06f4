"""eLog posting over real HTTP: counters, entries, retries, failures."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
from typing import Any, Dict, Iterator, List, Mapping, Sequence

import pytest
from elog_server import COUNTERS_PATH, ElogTestServer, Reply

from lute.io.elog import (
    ElogReporter,
    LocalReporter,
    Reporter,
    ReportItem,
    make_reporters,
    post_run_status,
    render_summary_plots,
    report_all,
)
from lute.tasks.dataclasses import ElogSummaryPlots, TaskStatus

ENTRY_PATH = ElogTestServer.entry_path("xpp12345")
RUN_TABLE_PATH = "/lgbk/run_control/xpp12345/ws/add_run_params"


@pytest.fixture(autouse=True)
def _direct_connections(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep a proxy configured on the machine away from the loopback test server."""
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


@pytest.fixture
def server() -> Iterator[ElogTestServer]:
    with ElogTestServer() as running:
        yield running


def make_execution(work_dir: str, **overrides: Any) -> Dict[str, Any]:
    execution: Dict[str, Any] = {
        "id": 7,
        "managed_task": "Tester",
        "task_name": "Test",
        "experiment": "xpp12345",
        "run": 12,
        "status": TaskStatus.COMPLETED,
        "started": 1_700_000_000.0,
        "ended": 1_700_000_012.5,
        "exit_code": 0,
        "error": None,
        "host": "node01",
        "work_dir": work_dir,
        "log_path": os.path.join(work_dir, "logs", "Tester_7.log"),
        "parameters": {"float_var": 0.01, "lute_config": {"experiment": "xpp12345"}},
        "duration_s": 12.5,
    }
    execution.update(overrides)
    return execution


ITEMS = [ReportItem.keyvalue("n_hits", "12"), ReportItem.text("all good")]


def fast(**kwargs: Any) -> Dict[str, Any]:
    """Reporter options that keep retries quick in tests."""
    options: Dict[str, Any] = {"timeout": 5.0, "attempts": 3, "backoff": 0.01}
    options.update(kwargs)
    return options


def free_port() -> int:
    """A port on 127.0.0.1 where nothing listens (connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- counters -----------------------------------------------------------------------


def test_counters_are_posted_as_key_value_json(server: ElogTestServer, tmp_path: Any) -> None:
    reporter = ElogReporter(counters_url=server.counters_url, **fast())
    reporter.report(execution=make_execution(str(tmp_path)), items=ITEMS)

    [request] = server.requests
    assert request.method == "POST"
    assert request.path == COUNTERS_PATH
    assert request.headers["content-type"] == "application/json"
    assert request.json == [
        {"key": "Tester status", "value": "COMPLETED"},
        {"key": "n_hits", "value": "12"},
    ]
    assert reporter.last_errors == []


def test_post_run_status_uses_jid_update_counters(server: ElogTestServer) -> None:
    env = {"JID_UPDATE_COUNTERS": server.counters_url}
    assert post_run_status({"Tester status": "RUNNING", "events": 3}, environ=env) is True
    assert server.requests[0].json == [
        {"key": "Tester status", "value": "RUNNING"},
        {"key": "events", "value": "3"},
    ]
    assert post_run_status({"Tester status": "RUNNING"}, environ={}) is False
    assert len(server.requests) == 1


def test_post_run_status_reports_failure(server: ElogTestServer) -> None:
    server.fail_next(503)
    env = {"JID_UPDATE_COUNTERS": server.counters_url, "LUTE_ELOG_ATTEMPTS": "1"}
    assert post_run_status({"Tester status": "RUNNING"}, environ=env) is False


# -- entries ------------------------------------------------------------------------


def test_entry_has_fields_auth_and_attachment(tmp_path: Any) -> None:
    page = render_summary_plots(
        ElogSummaryPlots("Detector/Hits", "<p>histogram</p>"), str(tmp_path / "plots")
    )
    items = [*ITEMS, ReportItem.plots("Detector/Hits", page)]
    with ElogTestServer(credentials=("xppopr", "s3cret")) as server:
        reporter = ElogReporter(elog_url=server.url, auth=("xppopr", "s3cret"), **fast())
        reporter.report(execution=make_execution(str(tmp_path)), items=items)
        [request] = server.requests

    assert request.status == 200
    assert request.path == ENTRY_PATH
    assert request.auth == ("xppopr", "s3cret")
    assert request.headers["content-type"].startswith("multipart/form-data; boundary=")
    text = request.form["log_text"]
    assert "Tester" in text and "COMPLETED" in text
    assert "n_hits: 12" in text and "all good" in text
    assert "run 12" in text and "exit code 0" in text
    assert request.form["log_title"] == "LUTE Tester run 12: COMPLETED"
    assert request.form["log_tags"] == "LUTE"
    [attachment] = request.files
    assert attachment.field == "files"
    assert attachment.filename == "Detector-Hits.html"
    assert attachment.content_type == "text/html"
    with open(page, "rb") as handle:
        assert attachment.data == handle.read()
    assert reporter.last_errors == []


def test_entry_text_carries_the_end_of_the_traceback(server: ElogTestServer, tmp_path: Any) -> None:
    trace = "Traceback (most recent call last):\n" + "".join(
        '  File "t.py", line %d\n' % n for n in range(100)
    )
    trace += "ValueError: detector gain out of range"
    execution = make_execution(str(tmp_path), status=TaskStatus.FAILED, error=trace, exit_code=1)
    ElogReporter(elog_url=server.url, tags=("LUTE", "SFX"), **fast()).report(
        execution=execution, items=[]
    )
    form = server.requests[0].form
    assert form["log_text"].endswith("ValueError: detector gain out of range")
    assert "line 0\n" not in form["log_text"]  # only the end of a long traceback
    assert form["log_title"].endswith(": FAILED")
    assert form["log_tags"] == "LUTE SFX"


def test_unicode_and_quotes_survive_the_form(server: ElogTestServer, tmp_path: Any) -> None:
    items = [ReportItem.keyvalue('pulse "energy"', "9.5 keV ± 0.1 → ok")]
    ElogReporter(elog_url=server.url, **fast()).report(
        execution=make_execution(str(tmp_path)), items=items
    )
    assert 'pulse "energy": 9.5 keV ± 0.1 → ok' in server.requests[0].form["log_text"]


def test_experiment_is_quoted_in_the_entry_url() -> None:
    reporter = ElogReporter(elog_url="http://127.0.0.1:1/base/", **fast())
    assert (
        reporter.entry_url("a b/c") == "http://127.0.0.1:1/base/lbapi/elog/a%20b%2Fc/new_elog_entry"
    )


def test_no_experiment_means_no_entry_but_counters(
    server: ElogTestServer, tmp_path: Any, caplog: pytest.LogCaptureFixture
) -> None:
    reporter = ElogReporter(counters_url=server.counters_url, elog_url=server.url, **fast())
    with caplog.at_level(logging.WARNING, logger="lute.io.elog"):
        reporter.report(execution=make_execution(str(tmp_path), experiment=""), items=ITEMS)
    assert [r.path for r in server.requests] == [COUNTERS_PATH]
    assert "no experiment" in caplog.text


# -- retries and failures ---------------------------------------------------------------


def test_two_server_errors_then_success_is_retried(
    server: ElogTestServer, tmp_path: Any, caplog: pytest.LogCaptureFixture
) -> None:
    server.fail_next(500, 500)
    reporter = ElogReporter(elog_url=server.url, **fast())
    with caplog.at_level(logging.INFO, logger="lute.io.elog"):
        reporter.report(execution=make_execution(str(tmp_path)), items=ITEMS)

    assert [r.status for r in server.requests] == [500, 500, 200]
    # The same entry each time.
    assert len({r.form["log_text"] for r in server.requests}) == 1
    assert reporter.last_errors == []
    assert caplog.text.count("retrying") == 2
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_persistent_server_errors_give_up_after_the_attempts(
    server: ElogTestServer, tmp_path: Any, caplog: pytest.LogCaptureFixture
) -> None:
    server.fail_next(502, 503, 500, 500)
    reporter = ElogReporter(counters_url=server.counters_url, **fast(attempts=3))
    with caplog.at_level(logging.WARNING, logger="lute.io.elog"):
        reporter.report(execution=make_execution(str(tmp_path)), items=ITEMS)
    assert [r.status for r in server.requests] == [502, 503, 500]
    [error] = reporter.last_errors
    assert "after 3 attempts" in error and "HTTP 500" in error
    assert "after 3 attempts" in caplog.text


def test_client_errors_are_not_retried(server: ElogTestServer, tmp_path: Any) -> None:
    server.fail_next(403)
    reporter = ElogReporter(elog_url=server.url, **fast())
    reporter.report(execution=make_execution(str(tmp_path)), items=ITEMS)
    assert [r.status for r in server.requests] == [403]
    assert "HTTP 403" in reporter.last_errors[0]


def test_wrong_credentials_are_reported(tmp_path: Any) -> None:
    with ElogTestServer(credentials=("xppopr", "right")) as server:
        reporter = ElogReporter(elog_url=server.url, auth=("xppopr", "wrong"), **fast())
        reporter.report(execution=make_execution(str(tmp_path)), items=ITEMS)
        assert [r.status for r in server.requests] == [401]
    assert "HTTP 401" in reporter.last_errors[0]


def test_a_refusal_in_a_success_reply_is_a_failure(server: ElogTestServer, tmp_path: Any) -> None:
    server.fail_next(Reply(200, b'{"success": false, "error_msg": "Experiment is locked"}'))
    reporter = ElogReporter(elog_url=server.url, **fast())
    reporter.report(execution=make_execution(str(tmp_path)), items=ITEMS)
    assert len(server.requests) == 1
    assert "Experiment is locked" in reporter.last_errors[0]


def test_connection_refused_is_retried_then_warned(
    tmp_path: Any, caplog: pytest.LogCaptureFixture
) -> None:
    url = "http://127.0.0.1:%d" % free_port()
    reporter = ElogReporter(counters_url=url + COUNTERS_PATH, elog_url=url, **fast())
    with caplog.at_level(logging.INFO, logger="lute.io.elog"):
        reporter.report(execution=make_execution(str(tmp_path)), items=ITEMS)
    assert caplog.text.count("retrying") == 4  # two retries for each of the two POSTs
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert all("ConnectionRefusedError" in r.getMessage() for r in warnings)
    assert len(reporter.last_errors) == 2


def test_timeouts_do_not_hang_and_an_entry_is_not_repeated(
    server: ElogTestServer, tmp_path: Any
) -> None:
    # A stalled server: counters (idempotent) are tried again, an entry is not,
    # since the server may have stored it before stalling.
    server.fail_next(*[Reply(delay=3.0)] * 4)
    reporter = ElogReporter(
        counters_url=server.counters_url, elog_url=server.url, **fast(timeout=0.3, attempts=2)
    )
    reporter.report(execution=make_execution(str(tmp_path)), items=ITEMS)
    assert len(server.requests_to(COUNTERS_PATH)) == 2
    assert len(server.requests_to(ENTRY_PATH)) == 1
    assert len(reporter.last_errors) == 2
    assert all("timed out" in error for error in reporter.last_errors)


def test_server_down_leaves_the_local_report_and_raises_nothing(
    tmp_path: Any, caplog: pytest.LogCaptureFixture
) -> None:
    url = "http://127.0.0.1:%d" % free_port()
    env = {
        "JID_UPDATE_COUNTERS": url + COUNTERS_PATH,
        "LUTE_ELOG_URL": url,
        "LUTE_ELOG_ATTEMPTS": "1",
    }
    work_dir = str(tmp_path)
    reporters = make_reporters(work_dir, env)
    assert [type(r) for r in reporters] == [LocalReporter, ElogReporter]
    execution = make_execution(work_dir)
    with caplog.at_level(logging.WARNING, logger="lute.io.elog"):
        report_all(reporters, execution=execution, items=ITEMS)

    html_path, json_path = reporters[0].paths(execution)  # type: ignore[attr-defined]
    assert os.path.isfile(html_path) and os.path.isfile(json_path)
    with open(html_path, encoding="utf-8") as page:
        assert "n_hits" in page.read()
    assert os.path.isfile(os.path.join(work_dir, "reports", "index.html"))
    assert "eLog" in caplog.text and "ConnectionRefusedError" in caplog.text


def test_report_all_goes_on_after_a_failing_reporter(
    tmp_path: Any, caplog: pytest.LogCaptureFixture
) -> None:
    seen: List[Sequence[ReportItem]] = []

    class Broken(Reporter):
        name = "broken reporter"

        def report(self, *, execution: Mapping[str, Any], items: Sequence[ReportItem]) -> None:
            raise RuntimeError("disk on fire")

    class Recording(Reporter):
        def report(self, *, execution: Mapping[str, Any], items: Sequence[ReportItem]) -> None:
            seen.append(items)

    with caplog.at_level(logging.WARNING, logger="lute.io.elog"):
        report_all([Broken(), Recording()], execution=make_execution(str(tmp_path)), items=ITEMS)
    assert seen == [ITEMS]
    assert "broken reporter failed" in caplog.text and "disk on fire" in caplog.text


def test_base_reporter_is_abstract(tmp_path: Any) -> None:
    with pytest.raises(NotImplementedError):
        Reporter().report(execution=make_execution(str(tmp_path)), items=[])


# -- configuration ---------------------------------------------------------------------


def test_custom_entry_path_reaches_the_server(server: ElogTestServer, tmp_path: Any) -> None:
    env = server.environ(LUTE_ELOG_ENTRY_PATH="/lgbk/{experiment}/ws/new_elog_entry")
    del env["JID_UPDATE_COUNTERS"]
    reporters = make_reporters(str(tmp_path), env)
    report_all(reporters, execution=make_execution(str(tmp_path)), items=ITEMS)
    # The entry, then the result's key/values to the run table (as the original did).
    assert [r.path for r in server.requests] == [
        "/lgbk/xpp12345/ws/new_elog_entry",
        RUN_TABLE_PATH,
    ]


def test_config_settings_reach_the_server(tmp_path: Any) -> None:
    from lute.io.models.header import ElogSettings

    with ElogTestServer(credentials=("xppopr", "s3cret")) as server:
        # The environment's eLog is another one; the config's wins.
        env = {"LUTE_ELOG_URL": "http://127.0.0.1:%d" % free_port(), "PW": "s3cret"}
        settings = ElogSettings(url=server.url, user="xppopr", password_env="PW", timeout=5)
        reporters = make_reporters(str(tmp_path), env, elog=settings)
        report_all(reporters, execution=make_execution(str(tmp_path)), items=ITEMS)
        [request, run_table] = server.requests

    assert (request.path, request.status) == (ENTRY_PATH, 200)
    assert request.auth == ("xppopr", "s3cret")
    assert (run_table.path, run_table.auth, run_table.json) == (
        RUN_TABLE_PATH,
        ("xppopr", "s3cret"),
        {"n_hits": "12"},
    )
    assert "n_hits: 12" in request.form["log_text"]
    assert reporters[1].last_errors == []  # type: ignore[attr-defined]


def test_reporter_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="counters URL, an eLog URL"):
        ElogReporter()
    with pytest.raises(ValueError, match="timeout"):
        ElogReporter(elog_url="http://x", timeout=0)
    with pytest.raises(ValueError, match="attempts"):
        ElogReporter(elog_url="http://x", attempts=0)


_HEAVY = [
    "urllib.request",
    "http.client",
    "email",
    "json",
    "logging",
    "matplotlib",
    "plotly",
    "bokeh",
    "lute.io.elog._http",
    "lute.io.elog._report_html",
    "lute.io.elog._report_index",
    "lute.io.elog._plots",
]


def _loaded_after(code: str, modules: Sequence[str]) -> List[str]:
    """Which of ``modules`` a fresh interpreter has imported after running ``code``."""
    report = "import sys; print(' '.join(m for m in %r if m in sys.modules))" % list(modules)
    out = subprocess.run(
        [sys.executable, "-c", code + "\n" + report],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return out.stdout.split()


def test_importing_the_module_stays_light() -> None:
    assert _loaded_after("import lute.io.elog", [*_HEAVY, "typing"]) == []


def test_a_run_without_an_elog_loads_no_http_code(tmp_path: Any) -> None:
    code = "from lute.io.elog import make_reporters; make_reporters(%r, {})" % str(tmp_path)
    assert _loaded_after(code, [*_HEAVY, "lute.io.elog._elog_reporter"]) == []
