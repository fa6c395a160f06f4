"""The Executor's Python API: hooks, tasklets, environment updates, reporting."""

from __future__ import annotations

import io
import os
import re
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest
from elog_server import ElogTestServer

from lute.execution.console import Console
from lute.execution.executor import Executor, ExecutorError
from lute.io.db import Database
from lute.tasks.dataclasses import TaskStatus
from tests.conftest import install_distribution, lute_exec, write_config


def quiet() -> Console:
    return Console("test", stream=io.StringIO(), live=False)


def test_hooks_run_in_order_and_belong_to_one_instance(config: Path) -> None:
    seen: List[Any] = []
    first = Executor("Test")
    second = Executor("Test")
    first.add_hook("TASK_DONE", lambda executor, msg: seen.append(("done", executor is first)))
    first.add_hook("", lambda executor, msg: seen.append(("msg", msg.contents)))
    assert first.execute_task(str(config), console=quiet()) is TaskStatus.COMPLETED
    assert ("done", True) in seen
    assert any(kind == "msg" and "float_var" in text for kind, text in seen)
    count = len(seen)
    assert second.execute_task(str(config), console=quiet()) is TaskStatus.COMPLETED
    assert len(seen) == count  # the second instance has only its own default hooks
    with pytest.raises(ValueError, match="unknown signal 'TASK_FINISHED'"):
        first.add_hook("TASK_FINISHED", lambda executor, msg: None)


def test_tasklets_see_parameters_and_merge_into_the_result(config: Path) -> None:
    calls: List[Any] = []

    def before(run: int) -> None:
        calls.append(("before", run))

    def after(value: int, experiment: str) -> dict:  # type: ignore[type-arg]
        calls.append(("after", value))
        return {"tasklet": "%s/%s" % (experiment, value)}

    executor = Executor("Test")
    executor.add_tasklet(before, ("{lute_config.run}",), when="before")
    executor.add_tasklet(
        after, ("{compound_var.int_var}", "{lute_config.experiment}"), set_summary=True
    )
    assert executor.execute_task(str(config), console=quiet()) is TaskStatus.COMPLETED
    assert calls == [("before", 12), ("after", 10)]
    with Database(str(config.parent / "work" / "lute.db"), readonly=True) as db:
        [execution] = db.executions()
        summaries = [r.summary for r in db.results(execution.id)]
    assert any("tasklet: TST12345/10" in s for s in summaries)
    with pytest.raises(ValueError, match="'before' or 'after'"):
        executor.add_tasklet(before, (), when="during")


def test_tasklet_naming_a_missing_parameter_is_a_clear_error(config: Path) -> None:
    executor = Executor("Test")
    executor.add_tasklet(print, ("{no_such.param}",), when="after")
    with pytest.raises(ExecutorError, match=r"after tasklet print: .*no_such\.param"):
        executor.execute_task(str(config), console=quiet())
    # Found before the Task was launched, like any other config error: nothing recorded.
    assert not (config.parent / "work" / "lute.db").exists()
    with pytest.raises(ExecutorError, match=r"no_such\.param"):
        executor.execute_task(str(config), dry_run=True, console=quiet())


def test_update_environment_calls_accumulate(config: Path, capsys: Any) -> None:
    executor = Executor("Test")
    executor.update_environment({"LUTE_TEST_A": "1", "PATH": "/opt/first"})
    executor.update_environment({"LUTE_TEST_B": "2", "PATH": "/opt/second"})
    executor.update_environment({"PATH": "/opt/last"}, update_path="append")
    executor.execute_task(str(config), dry_run=True, console=quiet())
    out = capsys.readouterr().out
    assert "LUTE_TEST_A=1" in out and "LUTE_TEST_B=2" in out
    path_line = next(line for line in out.splitlines() if " PATH=" in line)
    assert path_line.split("PATH=", 1)[1].startswith("/opt/second:/opt/first:")
    assert path_line.endswith(":/opt/last")
    with pytest.raises(ValueError, match="update_path"):
        executor.update_environment({"X": "1"}, update_path="sideways")


def test_shell_source_takes_the_scripts_variables(config: Path, capsys: Any) -> None:
    script = config.parent / "setup.sh"
    script.write_text('export LUTE_FROM_SCRIPT="sourced value"\necho noise\n')
    executor = Executor("Test")
    executor.shell_source(str(script))
    executor.execute_task(str(config), dry_run=True, console=quiet())
    assert "LUTE_FROM_SCRIPT=sourced value" in capsys.readouterr().out


def test_missing_executable_fails_before_anything_is_recorded(config: Path) -> None:
    done = lute_exec(
        ["run", "-c", str(config), "-t", "BinaryTester", "TestBinary.executable=/no/such/tool"]
    )
    assert done.returncode == 2
    assert "/no/such/tool" in done.stderr
    assert not (config.parent / "work" / "lute.db").exists()


def test_results_are_posted_to_the_elog(config: Path) -> None:
    with ElogTestServer() as server:
        done = lute_exec(["run", "-c", str(config), "-t", "Tester"], env=server.environ())
        assert done.returncode == 0, done.stderr
        counters = server.wait_for_requests(2, path_prefix="/jid/")
        entries = server.wait_for_requests(1, path_prefix="/lbapi/elog/TST12345/")
    # RUNNING when the Task starts, then the outcome with the result's key/values.
    assert counters[0].json == [{"key": "Tester status", "value": "RUNNING"}]
    keys = {item["key"] for item in counters[1].json}
    assert {"float_var", "str_var"} <= keys
    assert "COMPLETED" in entries[0].form["log_title"]


def test_terminal_gets_a_live_status_line(config: Path) -> None:
    from tests.executor.test_console import run_on_a_terminal

    text = run_on_a_terminal(config, [])
    # The status word may be in colour (see test_console.py).
    assert re.search(r"\r\x1b\[K\[Tester (?:\x1b\[\d+m)?(?:RUNNING|COMPLETED)", text), text


def test_elog_settings_in_the_config_are_used(short_tmp: Path) -> None:
    from tests.conftest import write_config

    with ElogTestServer(credentials=("opr", "secret")) as server:
        config = write_config(short_tmp)
        text = config.read_text().replace(
            'work_dir: "',
            'elog: {url: "%s", user: opr, password_env: LUTE_TEST_ELOG_PW}\nwork_dir: "'
            % server.url,
        )
        config.write_text(text)
        done = lute_exec(
            ["run", "-c", str(config), "-t", "Tester"], env={"LUTE_TEST_ELOG_PW": "secret"}
        )
        assert done.returncode == 0, done.stderr
        [entry] = server.wait_for_requests(1, path_prefix="/lbapi/elog/TST12345/")
    assert entry.auth == ("opr", "secret")
    missing = lute_exec(["run", "-c", str(config), "-t", "Tester"])
    assert missing.returncode == 2
    assert "LUTE_TEST_ELOG_PW" in missing.stderr


def test_a_failing_hook_leaves_no_task_process_and_records_failed(config: Path) -> None:
    from tests.executor.test_mpi import processes_with_marker

    def explode(executor: Any, msg: Any) -> None:
        raise RuntimeError("hook failed")

    marker = "hook-%d" % os.getpid()
    executor = Executor("Test")
    executor.update_environment({"LUTE_TEST_MARKER": marker})
    executor.add_hook("TASK_STARTED", explode)
    with pytest.raises(RuntimeError, match="hook failed"):
        executor.execute_task(str(config), ["Test.sleep_seconds=30"], console=quiet())
    assert processes_with_marker(marker) == []
    with Database(str(config.parent / "work" / "lute.db"), readonly=True) as db:
        [execution] = db.executions()
    assert execution.status == "FAILED"
    assert "hook failed" in (execution.error or "")


def test_a_task_that_fails_to_import_here_ends_failed_with_its_traceback(
    short_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In the Executor's own interpreter the Task is only located; its import error comes
    from the Task's process and is recorded like any failure."""
    site = install_distribution(
        short_tmp / "site",
        "lute-unloadable",
        {
            "lute.tasks": {"Unloadable": "lute_unloadable_tasks:Unloadable"},
            "lute.models": {"Unloadable": "lute_unloadable_models:UnloadableParameters"},
        },
        {
            "lute_unloadable_tasks": "raise ImportError('needs libfoo.so.3')\n",
            "lute_unloadable_models": "from lute.io.models.base import TaskParameters\n\n\n"
            "class UnloadableParameters(TaskParameters):\n    level: int = 1\n",
        },
    )
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setenv("PYTHONPATH", str(site))
    config = write_config(short_tmp, "Unloadable:\n  level: 2\n")
    executor = Executor("Unloadable")
    status = executor.execute_task(str(config), console=quiet())
    assert status == TaskStatus.FAILED
    assert "lute_unloadable_tasks" not in sys.modules
    with Database(str(short_tmp / "work" / "lute.db"), readonly=True) as db:
        [execution] = db.executions()
    assert execution.status == "FAILED"
    assert "could not be set up" in (execution.error or "")
    assert "needs libfoo.so.3" in (execution.error or "")


def test_two_runs_of_one_managed_task_at_once_keep_their_own_state(config: Path) -> None:
    import threading

    executor = Executor("Test")
    seen: Dict[str, Any] = {}

    def record(executor_: Executor, msg: Any) -> None:
        view = executor_.current_run
        assert view is not None
        seen.setdefault(threading.current_thread().name, set()).add(
            (view.execution_id, view.parameters["sleep_seconds"], view.timeout)
        )

    executor.add_hook("TASK_STARTED", record)
    executor.add_hook("", record)
    statuses: Dict[str, TaskStatus] = {}

    def run(name: str, overrides: List[str], timeout: Optional[float]) -> None:
        statuses[name] = executor.execute_task(
            str(config), overrides, console=quiet(), timeout=timeout
        )

    slow = threading.Thread(target=run, name="slow", args=("slow", ["Test.sleep_seconds=30"], 1.5))
    quick = threading.Thread(
        target=run, name="quick", args=("quick", ["Test.sleep_seconds=0.2"], None)
    )
    slow.start()
    quick.start()
    slow.join(60)
    quick.join(60)
    assert statuses == {"slow": TaskStatus.TIMEDOUT, "quick": TaskStatus.COMPLETED}
    # Each run's hooks saw only that run: its own execution, parameters and timeout.
    assert len(seen["slow"]) == 1 and len(seen["quick"]) == 1
    [(slow_id, slow_sleep, slow_timeout)] = seen["slow"]
    [(quick_id, quick_sleep, quick_timeout)] = seen["quick"]
    assert slow_id != quick_id
    assert (slow_sleep, slow_timeout) == (30.0, 1.5)
    assert (quick_sleep, quick_timeout) == (0.2, 120.0)  # the config's task_timeout
    assert executor.current_run is None  # outside a run
    assert executor.timeout is None  # a run's timeout never lands on the definition


def test_current_run_is_a_read_only_view(config: Path) -> None:
    executor = Executor("Test")
    views: List[Any] = []
    executor.add_hook("TASK_DONE", lambda executor_, msg: views.append(executor_.current_run))
    assert executor.execute_task(str(config), console=quiet()) is TaskStatus.COMPLETED
    [view] = views
    assert (view.managed_task, view.task_name) == ("Test", "Test")
    assert view.reported_status is TaskStatus.COMPLETED
    assert view.parameters["float_var"] == 0.01
    with pytest.raises(TypeError):
        view.parameters["float_var"] = 1.0  # type: ignore[index]
    with pytest.raises(AttributeError):
        view.status = TaskStatus.FAILED  # type: ignore[misc]


def test_the_config_file_is_read_once_per_run(config: Path) -> None:
    opened: List[str] = []
    path = str(config)

    def audit(event: str, args: Any) -> None:
        if event == "open" and str(args[0]) == path:
            opened.append(event)

    sys.addaudithook(audit)  # audit hooks cannot be removed: it counts this file only
    executor = Executor("Test")
    assert executor.execute_task(path, console=quiet()) is TaskStatus.COMPLETED
    assert len(opened) == 1


def test_task_environments_follow_overrides_and_the_config_directory(
    short_tmp: Path, capsys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    configs = short_tmp / "configs"
    configs.mkdir()
    config = write_config(configs)
    config.write_text(
        config.read_text().replace(
            "task_timeout:", "task_environments: {Tester: {venv: envs/first}}\ntask_timeout:"
        )
    )
    venv = Path(sys.prefix)
    for name in ("first", "second"):  # two venvs that are this one under other names
        env = configs / "envs" / name
        (env / "bin").mkdir(parents=True)
        (env / "bin" / "python").symlink_to(venv / "bin" / "python")
        (env / "lib").symlink_to(venv / "lib")
        (env / "pyvenv.cfg").write_text((venv / "pyvenv.cfg").read_text())
    monkeypatch.chdir(
        short_tmp
    )  # relative paths are the config file's, not the current directory's
    from lute.managed_tasks import get_managed_task

    tester = get_managed_task("Tester")
    tester.execute_task("configs/config.yaml", dry_run=True, console=quiet())
    assert "Environment:   venv %s" % (configs / "envs" / "first") in capsys.readouterr().out
    override = "lute_config.task_environments.Tester.venv=envs/second"
    tester.execute_task("configs/config.yaml", [override], dry_run=True, console=quiet())
    assert "Environment:   venv %s" % (configs / "envs" / "second") in capsys.readouterr().out
