"""Which reporters a run gets: the ``LUTE_ELOG_*`` environment and the config's ``elog`` block."""

from __future__ import annotations

import os
import re
from typing import Any, Dict, Iterator

import pytest
from elog_server import ElogTestServer

from lute import settings
from lute.io.elog import DEFAULT_ELOG_URL, ElogReporter, LocalReporter, make_reporters
from lute.io.models.header import ElogSettings


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

    # Blank is unset (docs/settings.md): the switch gives way to the URL, as when unset.
    blank_switch = ElogReporter.from_environ({"LUTE_ELOG_URL": server.url, "LUTE_ELOG_ENTRIES": ""})
    assert blank_switch is not None and blank_switch.elog_url == server.url
    blank_settings = from_config({"LUTE_ELOG_ENTRIES": " "}, url="http://cfg")
    assert blank_settings.elog_url == "http://cfg"

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


# -- the config's elog block over the environment ---------------------------------------


def from_config(env: Dict[str, str], **settings: Any) -> ElogReporter:
    reporter = ElogReporter.from_settings(ElogSettings(**settings), env)
    assert reporter is not None
    return reporter


def test_without_settings_it_is_the_environment_alone() -> None:
    env = {"LUTE_ELOG_URL": "http://env", "LUTE_ELOG_TIMEOUT": "2.5", "LUTE_ELOG_TAGS": "A B"}
    reporter = ElogReporter.from_settings(None, env)
    assert reporter is not None
    assert (reporter.elog_url, reporter.timeout, reporter.tags) == ("http://env", 2.5, ["A", "B"])
    assert ElogReporter.from_settings(None, {}) is None


def test_default_settings_ask_for_no_elog(tmp_path: Any) -> None:
    assert ElogReporter.from_settings(ElogSettings(), {"HOME": "/nowhere"}) is None
    reporters = make_reporters(str(tmp_path), {}, elog=ElogSettings())
    assert [type(r) for r in reporters] == [LocalReporter]


def test_the_config_url_wins_over_the_environment() -> None:
    env = {"LUTE_ELOG_URL": "http://env"}
    assert from_config(env, url="http://cfg/").elog_url == "http://cfg"
    assert from_config({}, url="  http://cfg  ").elog_url == "http://cfg"
    assert from_config(env, url="").elog_url == "http://env"  # empty: not set
    assert from_config(env).elog_url == "http://env"
    # A blank URL in the config replaces the environment's, and so turns entries off.
    assert ElogReporter.from_settings(ElogSettings(url="   "), env) is None


def test_post_false_turns_entries_off_whatever_the_environment_says() -> None:
    assert ElogReporter.from_settings(ElogSettings(url="http://cfg", post=False), {}) is None
    env = {"LUTE_ELOG_URL": "http://env", "LUTE_ELOG_ENTRIES": "1"}
    assert ElogReporter.from_settings(ElogSettings(post=False), env) is None
    # Counters are not entries: they stay.
    env = {"JID_UPDATE_COUNTERS": "http://jid/", "LUTE_ELOG_ENTRIES": "maybe"}
    counters_only = from_config(env, url="http://cfg", post=False)
    assert (counters_only.counters_url, counters_only.elog_url) == ("http://jid/", None)


def test_with_post_true_the_environment_switch_still_counts() -> None:
    assert from_config({"LUTE_ELOG_ENTRIES": "1"}).elog_url == DEFAULT_ELOG_URL
    off = ElogReporter.from_settings(ElogSettings(url="http://cfg"), {"LUTE_ELOG_ENTRIES": "0"})
    assert off is None
    message = (
        "eLog configuration from the environment: LUTE_ELOG_ENTRIES='maybe': expected 1 or 0 "
        "(or true/false, yes/no, on/off)"
    )
    with pytest.raises(ValueError, match="^%s$" % re.escape(message)):
        ElogReporter.from_settings(ElogSettings(), {"LUTE_ELOG_ENTRIES": "maybe"})


def test_user_and_password_env_win_over_the_environment() -> None:
    env = {"PW": "cfg-pw", "LUTE_ELOG_USER": "env-user", "LUTE_ELOG_PASSWORD": "env-pw"}
    assert from_config(env, url="http://cfg", user="opr", password_env="PW").auth == (
        "opr",
        "cfg-pw",
    )
    # Each replaces its own variable only.
    assert from_config(env, url="http://cfg", user="opr").auth == ("opr", "env-pw")
    assert from_config(env, url="http://cfg", password_env="PW").auth == ("env-user", "cfg-pw")
    # An empty password is a password.
    assert from_config({"PW": ""}, url="http://cfg", user="opr", password_env="PW").auth == (
        "opr",
        "",
    )


def test_password_env_must_name_a_set_variable() -> None:
    message = "^elog.password_env names LUTE_TEST_PW, which is not set$"
    with pytest.raises(ValueError, match=message):
        ElogReporter.from_settings(ElogSettings(url="http://cfg", password_env="LUTE_TEST_PW"), {})
    # Even when nothing would be posted: the config expects the variable.
    with pytest.raises(ValueError, match=message):
        ElogReporter.from_settings(ElogSettings(password_env="LUTE_TEST_PW"), {})


@pytest.mark.parametrize(
    ("settings", "env", "message"),
    [
        (
            {"user": "opr"},
            {},
            "the config's elog.user gives a user but no password is set: set "
            "LUTE_ELOG_PASSWORD or elog.password_env",
        ),
        (
            {},
            {"LUTE_ELOG_USER": "opr"},
            "LUTE_ELOG_USER gives a user but no password is set: set LUTE_ELOG_PASSWORD or "
            "elog.password_env",
        ),
        (
            {"password_env": "PW"},
            {"PW": "pw"},
            "the variable named by elog.password_env gives a password but no user is set: "
            "set LUTE_ELOG_USER or elog.user",
        ),
        (
            {},
            {"LUTE_ELOG_PASSWORD": "pw"},
            "LUTE_ELOG_PASSWORD gives a password but no user is set: set LUTE_ELOG_USER or "
            "elog.user",
        ),
    ],
)
def test_credentials_come_in_pairs(
    settings: Dict[str, str], env: Dict[str, str], message: str
) -> None:
    with pytest.raises(ValueError, match="^%s$" % message):
        ElogReporter.from_settings(ElogSettings(url="http://cfg", **settings), env)


def test_the_config_timeout_wins_even_as_its_default() -> None:
    env = {"LUTE_ELOG_URL": "http://env", "LUTE_ELOG_TIMEOUT": "2.5"}
    assert from_config(env, timeout=4).timeout == 4.0
    assert from_config(env).timeout == 10.0
    # The environment's value is not read at all, so it cannot be wrong.
    assert from_config({"LUTE_ELOG_TIMEOUT": "soon"}, url="http://cfg").timeout == 10.0
    unchecked = ElogSettings.model_construct(url="http://cfg", timeout=0)
    with pytest.raises(ValueError) as raised:
        ElogReporter.from_settings(unchecked, {})
    assert str(raised.value) == (
        "eLog configuration from the environment: LUTE_ELOG_TIMEOUT='0': must be greater than 0"
    )


def test_unset_and_blank_numbers_are_the_declared_defaults() -> None:
    for env in ({}, {"LUTE_ELOG_TIMEOUT": "", "LUTE_ELOG_ATTEMPTS": " "}):
        reporter = ElogReporter.from_environ(dict(env, LUTE_ELOG_URL="http://env"))
        assert reporter is not None
        assert (reporter.timeout, reporter.attempts) == (
            settings.ELOG_TIMEOUT.default,
            settings.ELOG_ATTEMPTS.default,
        )


def test_the_rest_comes_from_the_environment() -> None:
    env = {
        "JID_UPDATE_COUNTERS": "http://jid/",
        "LUTE_ELOG_ENTRY_PATH": "/lgbk/{experiment}/ws/new_elog_entry",
        "LUTE_ELOG_TAGS": "LUTE SFX",
        "LUTE_ELOG_ATTEMPTS": "5",
    }
    reporter = from_config(env, url="http://cfg")
    assert reporter.counters_url == "http://jid/"
    assert reporter.entry_url("xpp1") == "http://cfg/lgbk/xpp1/ws/new_elog_entry"
    assert (reporter.tags, reporter.attempts) == (["LUTE", "SFX"], 5)


@pytest.mark.parametrize(
    ("settings", "env", "message"),
    [
        (
            {"url": "ftp://cfg"},
            {},
            "eLog configuration from the environment: LUTE_ELOG_URL must be an http:// or "
            "https:// URL, got 'ftp://cfg'",
        ),
        (
            {"url": "http://cfg"},
            {"LUTE_ELOG_ATTEMPTS": "0"},
            "eLog configuration from the environment: LUTE_ELOG_ATTEMPTS='0': must be "
            "greater than 0",
        ),
        (
            {"url": "http://cfg"},
            {"LUTE_ELOG_ENTRY_PATH": "/new_entry"},
            "eLog configuration from the environment: the eLog entry path must contain "
            "'{experiment}', got '/new_entry'",
        ),
    ],
)
def test_bad_values_are_named_as_before(
    settings: Dict[str, Any], env: Dict[str, str], message: str, tmp_path: Any
) -> None:
    with pytest.raises(ValueError) as raised:
        make_reporters(str(tmp_path), env, elog=ElogSettings(**settings))
    assert str(raised.value) == message


def test_make_reporters_uses_the_settings(tmp_path: Any) -> None:
    env = {"PW": "pw", "LUTE_ELOG_URL": "http://env"}
    settings = ElogSettings(url="http://cfg", user="opr", password_env="PW", timeout=3)
    local, elog = make_reporters(str(tmp_path), env, elog=settings)
    assert isinstance(local, LocalReporter) and isinstance(elog, ElogReporter)
    assert (elog.elog_url, elog.auth, elog.timeout) == ("http://cfg", ("opr", "pw"), 3.0)
