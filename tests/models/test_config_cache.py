"""The parsed-config cache: a config read again is served without PyYAML, never stale."""

from __future__ import annotations

import math
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import List

import pytest

from lute.io.config import ConfigError, _config_cache, load_config, read_config_file
from tests.conftest import write_config

SECTIONS = """\
Test:
  float_var: .inf
  str_var: "cached"
  compound_var: {int_var: 0012, dict_var: {a: "b"}}
  throw_error: false
  float_var: .nan
...
"""


@pytest.fixture
def cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "cache-home"
    monkeypatch.setenv("XDG_CACHE_HOME", str(home))
    monkeypatch.delenv(_config_cache.ENV_SWITCH, raising=False)
    return home


def entries(cache_home: Path) -> List[Path]:
    directory = cache_home / "lute" / "configs"
    return sorted(directory.glob("*.json")) if directory.is_dir() else []


def test_second_read_comes_from_the_cache_and_equals_a_fresh_parse(
    tmp_path: Path, cache_home: Path
) -> None:
    path = write_config(tmp_path, SECTIONS)
    fresh = read_config_file(path)
    assert len(entries(cache_home)) == 1
    cached = read_config_file(path)
    # NaN never equals itself: compare it apart, then everything else exactly.
    assert math.isnan(fresh.sections["Test"]["float_var"])
    assert math.isnan(cached.sections["Test"]["float_var"])
    for raw in (fresh, cached):
        raw.sections["Test"]["float_var"] = "nan"
    assert cached == fresh
    assert cached.texts[("Test", "compound_var", "int_var")] == "0012"
    assert [str(p) for p in cached.problems] == [str(p) for p in fresh.problems]
    assert "given twice" in str(cached.problems[0])


def test_a_cached_read_does_not_import_yaml(tmp_path: Path, cache_home: Path) -> None:
    path = write_config(tmp_path)
    read_config_file(path)  # fills the cache
    code = (
        "import sys; from lute.io.config import load_config; "
        "loaded = load_config(sys.argv[1], 'Test'); "
        "print(loaded.model.str_var, 'yaml' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True
    )
    assert done.stdout.split() == ["test", "False"]


def test_a_run_reading_once_still_uses_the_cache(tmp_path: Path, cache_home: Path) -> None:
    path = write_config(tmp_path)
    read_config_file(path)  # fills the cache
    code = (
        "import sys; from lute.io.config import early_header, load_config, read_config_file; "
        "raw = read_config_file(sys.argv[1]); early = early_header(raw); "
        "loaded = load_config(raw, 'Test'); "
        "print(early.work_dir == loaded.header.work_dir, loaded.header.run, 'yaml' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True
    )
    assert done.stdout.split() == ["True", "12", "False"]
    assert len(entries(cache_home)) == 1


def test_any_change_of_the_text_is_parsed_again(tmp_path: Path, cache_home: Path) -> None:
    path = write_config(tmp_path)
    assert read_config_file(path).sections["Test"]["str_var"] == "test"
    path.write_text(path.read_text().replace('str_var: "test"', 'str_var: "edited"'))
    assert read_config_file(path).sections["Test"]["str_var"] == "edited"
    assert len(entries(cache_home)) == 2


def test_errors_found_from_the_cache_name_the_same_lines(tmp_path: Path, cache_home: Path) -> None:
    path = write_config(tmp_path, SECTIONS.replace('str_var: "cached"', "str_var: [1, 2]"))
    messages = []
    for _ in range(2):  # fresh parse, then from the cache
        with pytest.raises(ConfigError) as info:
            load_config(path, "Test")
        messages.append(str(info.value))
    assert messages[0] == messages[1]
    assert "%s:17" % path in messages[0]  # the duplicate float_var


def test_a_damaged_entry_is_parsed_again_and_replaced(tmp_path: Path, cache_home: Path) -> None:
    path = write_config(tmp_path)
    read_config_file(path)
    (entry,) = entries(cache_home)
    for damage in ("{ not json", '{"format": "lute-config-cache/1"}', "[]"):
        entry.write_text(damage)
        assert read_config_file(path).sections["Test"]["str_var"] == "test"
    assert _config_cache.load(path.read_text()) is not None


def test_entries_are_private_and_bounded(
    tmp_path: Path, cache_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_config_cache, "MAX_ENTRIES", 3)
    for run in range(5):
        read_config_file(write_config(tmp_path, run=run, name="run%d.yaml" % run))
    kept = entries(cache_home)
    assert len(kept) == 3
    assert stat.S_IMODE(os.stat(kept[0].parent).st_mode) == 0o700
    assert all(stat.S_IMODE(os.stat(entry).st_mode) == 0o600 for entry in kept)


def test_cache_switched_off_or_unwritable_still_reads(
    tmp_path: Path, cache_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_config(tmp_path)
    monkeypatch.setenv(_config_cache.ENV_SWITCH, "0")
    assert read_config_file(path).header["experiment"] == "TST12345"
    assert entries(cache_home) == []
    monkeypatch.delenv(_config_cache.ENV_SWITCH)
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))
    assert read_config_file(path).header["experiment"] == "TST12345"


def test_placeholders_and_overrides_apply_after_the_cache(
    tmp_path: Path, cache_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sections = DEFAULT_SECTIONS_WITH_PLACEHOLDER
    path = write_config(tmp_path, sections, run='"{{ $LUTE_CACHE_TEST_RUN }}"')
    seen = []
    for run in ("7", "8"):
        monkeypatch.setenv("LUTE_CACHE_TEST_RUN", run)
        loaded = load_config(path, "Test", ["Test.float_var=%s.5" % run])
        seen.append((loaded.header.run, loaded.model.str_var, loaded.model.float_var))
    assert len(entries(cache_home)) == 1  # one text, one entry: both runs used it
    assert seen == [(7, "run 7", 7.5), (8, "run 8", 8.5)]


DEFAULT_SECTIONS_WITH_PLACEHOLDER = """\
Test:
  float_var: 0.01
  str_var: "run {{ lute_config.run }}"
  compound_var: {int_var: 10, dict_var: {a: "b"}}
  throw_error: false
...
"""


def test_an_entry_that_cannot_be_written_leaves_nothing_behind(
    tmp_path: Path, cache_home: Path
) -> None:
    _config_cache.store(
        "x: 1\n",
        {
            "documents": 1,
            "doc_lines": [1],
            "values": [object()],
            "lines": {},
            "texts": {},
            "problems": [],
        },
    )
    directory = cache_home / "lute" / "configs"
    assert list(directory.iterdir()) == []  # not JSON: no entry and no temporary file
