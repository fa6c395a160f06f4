"""``lute-exec submit`` refuses before anything is queued: every problem at once."""

from __future__ import annotations

import sys
from pathlib import Path

from tests.conftest import install_distribution, lute_exec, write_config
from tests.slurm.helpers import TESTER, executions, submit


def _config(tmp: Path, header_extra: str = "", sections: str = TESTER, **kwargs: object) -> Path:
    path = write_config(tmp, sections, **kwargs)  # type: ignore[arg-type]
    if header_extra:
        text = path.read_text().replace("...\n---\n", header_extra + "...\n---\n", 1)
        path.write_text(text)
    return path


def line_of(path: Path, text: str) -> int:
    """The 1-based line of ``path`` that holds ``text``."""
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def test_a_run_that_does_not_validate_stops_the_whole_submission(short_tmp: Path) -> None:
    sections = TESTER.replace("int_var: 10", 'int_var: "{{ run }}"')
    config = _config(short_tmp, sections=sections)
    done = submit(None, ["-c", str(config), "-t", "Tester", "--runs", "1,2,dark,x7"])
    assert done.returncode == 2, done.stderr
    lines = done.stderr.splitlines()
    assert lines[0] == (
        "lute-exec: error: 2 problems in the submission of Tester (4 executions checked); "
        "nothing was submitted:"
    )
    where = "%s:%d" % (config, line_of(config, "int_var"))
    assert lines[1:] == [
        "  %s: Test.compound_var.int_var: wrong type: expected a whole number, got 'dark' "
        "(text) [run dark]" % where,
        "  %s: Test.compound_var.int_var: wrong type: expected a whole number, got 'x7' "
        "(text) [run x7]" % where,
    ]
    # A problem every run shares is reported once, without the runs.
    config.write_text(config.read_text().replace("float_var: 0.01", "float_var: abc"))
    done = submit(None, ["-c", str(config), "-t", "Tester", "--runs", "1-3"])
    assert done.stderr.count("Test.float_var: wrong type") == 1
    assert "Test.float_var: wrong type: expected a number, got 'abc' (text)\n" in done.stderr
    assert not (short_tmp / "work").exists()


def test_a_sweep_point_is_checked_on_its_own_section_as_its_run_reads_it(
    short_tmp: Path,
) -> None:
    """Tester_7 runs Test on section Test_7: submit must check that section, not Test."""
    config = _config(
        short_tmp, sections=TESTER.replace("...\n", "Test_7:\n  float_var: lots\n...\n")
    )
    done = submit(None, ["-c", str(config), "-t", "Tester_7", "--dry-run"])
    assert done.returncode == 2, done.stderr
    where = "%s:%d" % (config, line_of(config, "float_var: lots"))
    assert "%s: Test_7.float_var: wrong type: expected a number" % where in done.stderr
    base = submit(None, ["-c", str(config), "-t", "Tester_7", "Test.float_var=2", "--dry-run"])
    assert base.returncode == 2 and "a sweep point reads its own section 'Test_7'" in base.stderr
    config.write_text(config.read_text().replace("float_var: lots", "float_var: 0.7"))
    fine = submit(None, ["-c", str(config), "-t", "Tester_7", "Test_7.str_var=x", "--dry-run"])
    assert fine.returncode == 0, fine.stderr
    assert " -t Tester_7 Test_7.str_var=x --claim" in fine.stdout
    assert not (short_tmp / "work").exists()


def test_every_problem_of_options_sweeps_and_configs_at_once(short_tmp: Path) -> None:
    config = _config(
        short_tmp,
        "slurm:\n  partiton: debug\n  time: soon\n  Testr: {ntasks: 1}\n"
        "  sweep: {Test.float_var: []}\n",
    )
    done = submit(
        None,
        ["-c", str(config), "-t", "Tester", "Test.float_var=abc", "--", "--tme=5", "-n", "0"],
    )
    assert done.returncode == 2
    shown = done.stderr
    assert shown.splitlines()[1:] == [
        "  command line: unknown sbatch option 'tme'; did you mean 'time'?",
        "  command line: --ntasks: expected a whole number above 0, got '0'",
        "  %s:%d (slurm.sweep.Test.float_var): expected a non-empty list of values"
        % (config, line_of(config, "sweep:")),
        "  command line: Test.float_var: wrong type: expected a number, got 'abc' (text)",
    ]
    assert not (short_tmp / "work").exists()
    # The config's options are those of the validated header: checked once it validates.
    done = submit(None, ["-c", str(config), "-t", "Tester", "--", "--tme=5"])
    shown = done.stderr
    assert (
        "%s:%d (slurm.partiton): unknown sbatch option 'partiton'; did you mean 'partition'?"
        % (
            config,
            line_of(config, "partiton"),
        )
        in shown
    )
    assert (
        "%s:%d (slurm.time): --time: expected a time limit" % (config, line_of(config, "soon"))
        in shown
    )
    assert (
        "%s:%d (slurm.Testr): no managed task or Task is called 'Testr'"
        % (
            config,
            line_of(config, "Testr"),
        )
        in shown
    )


def test_unknown_managed_task_and_run_conflicts(short_tmp: Path) -> None:
    config = _config(short_tmp)
    done = submit(None, ["-c", str(config), "-t", "Testr"])
    assert done.returncode == 2 and "Testr" in done.stderr
    done = submit(None, ["-c", str(config), "-t", "Tester", "--runs", "1-2", "run=3"])
    assert done.returncode == 2
    assert "--runs sets the run of every point; it is also set by run=3" in done.stderr
    done = submit(None, ["-c", str(config), "-t", "Tester", "--runs", "1-2", "--sweep", "run=4,5"])
    assert "it is also set by --sweep run=4,5" in done.stderr
    done = submit(
        None, ["-c", str(config), "-t", "Tester", "--zip", "Test.a=1", "--zip", "Test.b=1,2"]
    )
    assert "--zip lists are taken side by side and must be as long" in done.stderr


def test_one_submission_needs_one_database(short_tmp: Path) -> None:
    config = _config(short_tmp)
    config.write_text(
        config.read_text().replace(
            'work_dir: "%s/work"' % short_tmp, 'work_dir: "%s/w{{ run }}"' % short_tmp
        )
    )
    done = submit(None, ["-c", str(config), "-t", "Tester", "--runs", "1-2", "--dry-run"])
    assert done.returncode == 2
    assert "must share one results database" in done.stderr


def test_the_dry_run_prints_the_exact_script_and_writes_nothing(short_tmp: Path) -> None:
    config = _config(short_tmp, "slurm: {partition: debug}\n")
    done = submit(
        None, ["-c", str(config), "-t", "Tester", "Test.float_var=2", "--dry-run", "--", "-t", "5"]
    )
    assert done.returncode == 0, done.stderr
    work = short_tmp / "work"
    assert done.stdout == (
        "#!/bin/bash\n"
        "# written by lute-exec submit: Tester, 1 execution\n"
        "# lute-exec submit -c %(config)s -t Tester Test.float_var=2 --dry-run -- -t 5\n"
        "# partition: %(config)s:%(line)d (slurm.partition)\n"
        "#SBATCH --partition=debug\n"
        "# time: command line\n"
        "#SBATCH --time=5\n"
        "# job-name: lute-exec submit\n"
        "#SBATCH --job-name=Tester_TST12345\n"
        "#SBATCH --output=%(work)s/slurm/Tester_TST12345_r12_%%j.out\n"
        "exec %(python)s -m lute.execution.cli run -c %(config)s -t Tester Test.float_var=2 "
        "--claim QUEUED_ID --db %(work)s/lute.db\n"
        % {
            "config": config,
            "line": line_of(config, "slurm:"),
            "work": work,
            "python": sys.executable,
        }
    )
    assert "nothing queued or submitted" in done.stderr
    assert not work.exists()


def test_options_in_their_order_of_precedence(short_tmp: Path) -> None:
    site = install_distribution(
        short_tmp / "site",
        "facility-tasks",
        {"lute.managed_tasks": {"SiteTester": "site_tasks:SiteTester"}},
        {
            "site_tasks": "from lute.execution.executor import Executor\n"
            "SiteTester = Executor('Test', slurm={'partition': 'def', 'time': '9', "
            "'qos': 'def', 'cpus_per_task': 2})\n"
        },
    )
    facility = short_tmp / "facility.yaml"
    facility.write_text(
        "partition: site\ntime: 1:00:00\nqos: site\naccount: lcls\nmem: 4G\n"
        "Test: {account: test-block}\nSiteTester: {mem: 8G}\n"
    )
    config = _config(
        short_tmp,
        "slurm:\n  time: 30\n  mem: null\n  Test: {qos: config-test}\n"
        "  SiteTester: {qos: config-managed, exclusive: true}\n",
    )
    done = lute_exec(
        ["submit", "-c", str(config), "-t", "SiteTester", "--dry-run", "--", "-p", "cli"],
        env={"PYTHONPATH": str(site), "LUTE_SLURM_DEFAULTS": str(facility)},
    )
    assert done.returncode == 0, done.stderr
    shown = done.stdout.splitlines()[3:-1]
    managed = line_of(config, "SiteTester:")
    assert shown == [
        # In the order each option was first set, lowest layer first; the value and the
        # source of the highest layer that sets it.
        "# partition: command line",
        "#SBATCH --partition=cli",
        "# time: %s:%d (slurm.time)" % (config, line_of(config, "time: 30")),
        "#SBATCH --time=30",
        "# qos: %s:%d (slurm.SiteTester.qos)" % (config, managed),
        "#SBATCH --qos=config-managed",
        "# account: LUTE_SLURM_DEFAULTS file %s:6 (Test.account)" % facility,
        "#SBATCH --account=test-block",
        "# cpus-per-task: managed task SiteTester (slurm: cpus_per_task)",
        "#SBATCH --cpus-per-task=2",
        "# exclusive: %s:%d (slurm.SiteTester.exclusive)" % (config, managed),
        "#SBATCH --exclusive",
        "# job-name: lute-exec submit",
        "#SBATCH --job-name=SiteTester_TST12345",
        "#SBATCH --output=%s/work/slurm/SiteTester_TST12345_r12_%%j.out" % short_tmp,
    ]
    facility.write_text("partition: [a]\nsweep: {Test.x: [1]}\n")
    done = lute_exec(
        ["submit", "-c", str(config), "-t", "Tester", "--dry-run"],
        env={"LUTE_SLURM_DEFAULTS": str(facility)},
    )
    assert done.returncode == 2
    assert (
        "LUTE_SLURM_DEFAULTS file %s:1 (partition): an sbatch option takes one value" % facility
        in done.stderr
    )
    assert (
        "LUTE_SLURM_DEFAULTS file %s:2 (sweep): sweeps belong in a config" % facility in done.stderr
    )


def test_mpi_tasks_ask_for_their_ranks(short_tmp: Path) -> None:
    def ntasks(*args: str, header: str = "") -> str:
        config = _config(short_tmp, header, name="c%d.yaml" % len(list(short_tmp.iterdir())))
        done = lute_exec(["submit", "-c", str(config), "-t", "MPITester", "--dry-run", *args])
        if done.returncode != 0:
            return done.stderr
        lines = done.stdout.splitlines()
        position = next(i for i, line in enumerate(lines) if line.startswith("#SBATCH --ntasks"))
        return "%s | %s" % (lines[position - 1], lines[position])

    assert ntasks(header="mpi_ranks: 3\n") == "# ntasks: lute_config.mpi_ranks | #SBATCH --ntasks=3"
    assert ntasks("mpi_ranks=4", "--", "-n", "6") == "# ntasks: command line | #SBATCH --ntasks=6"
    refused = ntasks("mpi_ranks=4", "--", "-n", "2")
    assert (
        "command line: ntasks=2 is fewer than the 4 MPI ranks of lute_config.mpi_ranks" in refused
    )
    assert ntasks() == "# ntasks: the default MPI rank count | #SBATCH --ntasks=2"
    assert ntasks("--", "-n", "5") == "# ntasks: command line | #SBATCH --ntasks=5"


def test_sbatch_missing_records_nothing(short_tmp: Path) -> None:
    config = _config(short_tmp)
    done = lute_exec(["submit", "-c", str(config), "-t", "Tester"], env={"PATH": str(short_tmp)})
    assert done.returncode == 2
    assert "sbatch not found on PATH" in done.stderr and "nothing was submitted" in done.stderr
    assert executions(short_tmp / "work") == []


def test_resubmit_where_nothing_was_submitted_creates_no_database(short_tmp: Path) -> None:
    work = short_tmp / "work"
    work.mkdir()
    for extra in ([], ["--dry-run"]):
        done = lute_exec(["resubmit", "4242", "-w", str(work), *extra])
        assert done.returncode == 2, done.stderr
        assert done.stderr == (
            "lute-exec: error: no results database at %s (nothing was submitted there)\n"
            % (work / "lute.db")
        )
    assert list(work.iterdir()) == []


def test_a_malformed_job_id_is_refused_by_name(short_tmp: Path) -> None:
    work = short_tmp / "work"
    work.mkdir()
    wrong = "not a SLURM job id: %r (a job is 4242, one task of an array 4242_3)"
    for command, job in (("cancel", "abc"), ("status", "12_"), ("status", "_3")):
        done = lute_exec([command, "4242", job, "-w", str(work)])
        assert done.returncode == 2, done.stderr
        assert done.stderr.endswith(
            "lute-exec %s: error: argument JOB: %s\n" % (command, wrong % job)
        )
    done = lute_exec(["resubmit", "4x", "-w", str(work)])
    assert (done.returncode, done.stderr) == (2, "lute-exec: error: %s\n" % wrong % "4x")
    assert list(work.iterdir()) == []


def test_max_parallel_cannot_chain_arrays_behind_a_dependency_with_alternatives(
    short_tmp: Path,
) -> None:
    """Several arrays under --max-parallel each wait for the one before (``,afterany``):
    SLURM cannot add that to a ``?`` dependency, so the submission is refused whole."""
    import pytest

    from lute.execution.slurm import SubmitError, SubmitRequest, prepare

    config = _config(short_tmp)
    either = "--dependency=afterok:101?afterok:102"
    request = SubmitRequest(str(config), "Tester", runs="1-3", max_parallel=1, sbatch=[either])
    with pytest.raises(SubmitError) as refused:
        prepare(request, max_array_size=2)
    assert refused.value.problems == [
        "--max-parallel 1 over 2 arrays makes each array wait for the one before (afterany), "
        "but their --dependency=afterok:101?afterok:102 (from command line) joins "
        "alternatives with '?', and SLURM cannot read '?' and ',' in one --dependency; drop "
        "--max-parallel, or submit fewer points so that they fit in one array"
    ]
    # One array, no limit, or a dependency of one kind: nothing to mix.
    assert len(prepare(request, max_array_size=3).jobs) == 1
    unlimited = SubmitRequest(str(config), "Tester", runs="1-3", sbatch=[either])
    assert len(prepare(unlimited, max_array_size=2).jobs) == 2
    both = SubmitRequest(
        str(config), "Tester", runs="1-3", max_parallel=1, sbatch=["--dependency=afterok:1:2"]
    )
    assert len(prepare(both, max_array_size=2).jobs) == 2
    assert not (short_tmp / "work").exists()
