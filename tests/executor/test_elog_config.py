"""Which reporters a run gets from the ``LUTE_ELOG_*`` environment."""

from __future__ import annotations

import os
from typing import Any, Dict, Iterator

import pytest
from elog_server import ElogTestServer

from lute.io.elog import DEFAULT_ELOG_URL, ElogReporter, LocalReporter, make_reporters


@pytest.fixture
def server() -> Iterator[ElogTestServer]:
    with ElogTestServer() as running:
        yield running


# -- the environment alone ----------------------------------------------------------


def test_make_reporters_without_elog_environment_is_local_only(tmp_path: Any) -> None:
    reporters = make_reporters(str(tmp_path), {"HOME": "/nowhere"})
    assert [type(r) for r in reporters] == [LocalReporter]
    assert reporters[0].reports_dir == os.path.join(str(tmp_path), "reports")  # type: ignore[attr-defined]


def test_environment_selects_the_parts(server: ElogTestServer) -> None:
    assert ElogReporter.from_environ({}) is None

    counters_only = ElogReporter.from_environ({"JID_UPDATE_COUNTERS": server.counters_url})
    assert counters_only is not None
    assert (counters_only.counters_url, counters_only.elog_url) == (server.counters_url, None)

    full = ElogReporter.from_environ(
        server.environ(
            LUTE_ELOG_USER="u",
            LUTE_ELOG_PASSWORD="p",
            LUTE_ELOG_TAGS="LUTE  SFX",
            LUTE_ELOG_ATTEMPTS="5",
            LUTE_ELOG_TIMEOUT="2.5",
        )
    )
    assert full is not None
    assert full.elog_url == server.url and full.counters_url == server.counters_url
    assert full.auth == ("u", "p")
    assert full.tags == ["LUTE", "SFX"]
    assert (full.attempts, full.timeout) == (5, 2.5)

    default_url = ElogReporter.from_environ({"LUTE_ELOG_ENTRIES": "1"})
    assert default_url is not None and default_url.elog_url == DEFAULT_ELOG_URL

    switched_off = ElogReporter.from_environ(
        {"LUTE_ELOG_URL": server.url, "LUTE_ELOG_ENTRIES": "0"}
    )
    assert switched_off is None

    custom = ElogReporter.from_environ(
        {
            "LUTE_ELOG_URL": server.url,
            "LUTE_ELOG_ENTRY_PATH": "/lgbk/{experiment}/ws/new_elog_entry",
        }
    )
    assert custom is not None
    assert custom.entry_url("xpp1") == server.url + "/lgbk/xpp1/ws/new_elog_entry"


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"LUTE_ELOG_URL": "ftp://elog"}, "LUTE_ELOG_URL"),
        ({"JID_UPDATE_COUNTERS": "file:///etc/passwd"}, "JID_UPDATE_COUNTERS"),
        ({"LUTE_ELOG_URL": "http://x", "LUTE_ELOG_TIMEOUT": "soon"}, "LUTE_ELOG_TIMEOUT"),
        ({"LUTE_ELOG_URL": "http://x", "LUTE_ELOG_TIMEOUT": "-1"}, "LUTE_ELOG_TIMEOUT"),
        ({"LUTE_ELOG_URL": "http://x", "LUTE_ELOG_ATTEMPTS": "0"}, "LUTE_ELOG_ATTEMPTS"),
        ({"LUTE_ELOG_URL": "http://x", "LUTE_ELOG_ATTEMPTS": "2.5"}, "LUTE_ELOG_ATTEMPTS"),
        ({"LUTE_ELOG_URL": "http://x", "LUTE_ELOG_USER": "opr"}, "LUTE_ELOG_PASSWORD"),
        ({"LUTE_ELOG_URL": "http://x", "LUTE_ELOG_PASSWORD": "pw"}, "LUTE_ELOG_USER"),
        ({"LUTE_ELOG_ENTRIES": "maybe"}, "LUTE_ELOG_ENTRIES"),
        ({"LUTE_ELOG_URL": "http://x", "LUTE_ELOG_ENTRY_PATH": "/new_entry"}, "{experiment}"),
    ],
)
def test_bad_environment_is_a_clear_error(env: Dict[str, str], named: str, tmp_path: Any) -> None:
    with pytest.raises(ValueError, match=named.replace("{", r"\{").replace("}", r"\}")):
        make_reporters(str(tmp_path), env)
