"""Benchmark of the LUTE IPC layer against raw sockets; prints one Markdown table.

    .venv/bin/python benchmarks/ipc.py [--quick] [--import-module lute.tasks.task]

Every "Task" is a separate process (this script started with ``--client``). It connects,
reports ready, and waits for a go line on stdin; the clock runs from "go" until the
listening side has delivered the last message, so process start-up and the handshake
are not counted. Rows:

* small messages/s, Task -> listener, over Unix, TCP and ZMQ, beside a raw-socket
  baseline that sends the same messages as length-prefixed pickles (one ``sendall`` per
  message, no HMAC) to a receiver that unpickles each one;
* large payloads (a numpy array when numpy is importable, else bytes) in GB/s, beside a
  raw copy of the same bytes into a freshly allocated buffer (what the Listener must do:
  the received array is handed over), and, for reference, into a reused buffer. Three
  times the payload is touched and freed before each size's rows (``--no-warm-memory``
  skips it): on a virtual machine the first touch of never-used guest memory costs the
  hypervisor seconds per GiB, and would otherwise land on whichever row runs first;
* plain messages through a real ``lute-exec run`` (hooks, console, written to the
  database in batches as they arrive), over the same run with one message, beside the
  raw-socket baseline; at most the per-run cap of stored messages (100,000), so that
  every message counted is one stored;
* the import cost of a module (default ``lute.tasks.task``) on Python 3.8 beside
  ``python3.8 -c pass``, with only lute-runtime's sources on the path.

Each figure summarizes ``--repeat`` runs (``--stat best``, the default, keeps the run
least disturbed by other load; ``--stat median``). Compare columns within one run, not
across machines.
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import os
import pickle
import shutil
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

ROOT = Path(__file__).resolve().parent.parent
RUNTIME_SRC = ROOT / "packages" / "lute-runtime" / "src"
sys.path.insert(0, str(RUNTIME_SRC))  # runnable from a checkout without installing

from _timing import timed  # noqa: E402  (benchmarks/ is the script's directory)

from lute.execution.ipc import Listener, Message, Peer, connect, new_key  # noqa: E402

WAIT = 600.0  # bound on every wait: a broken run fails instead of hanging
RAW_ADDRESS = "LUTE_BENCH_RAW"  # tells a raw client where the raw receiver listens
LENGTH = struct.Struct("!I")
SIZE = struct.Struct("!Q")

try:
    import numpy
except ImportError:  # the benchmark still runs; large payloads are then bytes
    numpy = None


def small_message(index: int) -> Message:
    """What a Task typically reports: a small dict."""
    return Message({"step": index, "value": index * 0.5})


def large_payload(size: int) -> Any:
    """``size`` bytes of touched memory (a numpy array when numpy is present)."""
    if numpy is not None:
        return numpy.ones(size // 8, dtype=numpy.float64)
    return b"\x01" * size


# --- Task side (this script with --client) ----------------------------------------------


def _ready_then_wait() -> None:
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    sys.stdin.readline()


def client(kind: str, transport: str, count: int, size: int) -> None:
    """Body of a benchmark Task process."""
    if kind == "small":
        channel = connect()
        _ready_then_wait()
        for index in range(count):
            channel.send(small_message(index))
        channel.close()
    elif kind == "large":
        payload = large_payload(size)
        channel = connect()
        _ready_then_wait()
        channel.send(Message(payload))
        channel.close()
    elif kind == "raw-small":
        sock = _raw_connect(transport)
        _ready_then_wait()
        for index in range(count):
            data = pickle.dumps(small_message(index), 5)
            sock.sendall(LENGTH.pack(len(data)) + data)
        sock.close()
    elif kind in ("raw-large", "raw-large-warm"):
        payload = large_payload(size)
        sock = _raw_connect(transport)
        _ready_then_wait()
        view = memoryview(payload).cast("B")
        sock.sendall(SIZE.pack(view.nbytes))
        sock.sendall(view)
        sock.close()
    else:
        raise SystemExit("unknown client kind %r" % kind)


def _raw_connect(transport: str) -> socket.socket:
    where = os.environ[RAW_ADDRESS]
    if transport == "unix":
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(where)
    else:
        host, port = where.rsplit(":", 1)
        sock = socket.create_connection((host, int(port)))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


# --- receiving side -----------------------------------------------------------------------


class Finish:
    """Set when the receiving side has delivered everything."""

    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.received = 0
        self.done = threading.Event()
        self.at = 0.0
        self.last: Any = None

    def count(self, item: Any = None) -> None:
        self.received += 1
        self.last = item
        if self.received == self.expected:
            self.at = time.perf_counter()
            self.done.set()


def run_client(
    kind: str, transport: str, count: int, size: int, env: Dict[str, str], finish: Finish
) -> float:
    """Start a Task process, let it go, return seconds until ``finish``."""
    args = [sys.executable, __file__, "--client", kind, transport, str(count), str(size)]
    process = subprocess.Popen(
        args, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None and process.stdin is not None
        if process.stdout.readline().strip() != "ready":
            raise RuntimeError("benchmark client %s/%s did not start" % (kind, transport))
        started = time.perf_counter()
        process.stdin.write("go\n")
        process.stdin.flush()
        if not finish.done.wait(WAIT):
            raise RuntimeError("benchmark %s/%s did not finish" % (kind, transport))
        process.stdin.close()
        if process.wait(WAIT) != 0:
            raise RuntimeError("benchmark client %s/%s failed" % (kind, transport))
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return finish.at - started


def lute_run(kind: str, transport: str, count: int, size: int) -> float:
    """One measurement through a LUTE Listener."""
    finish = Finish(count if kind == "small" else 1)
    errors: List[str] = []

    def on_message(peer: Peer, message: Message) -> None:
        finish.count(message.contents if kind == "large" else None)

    with Listener(
        new_key(),
        hello_reply={},
        on_message=on_message,
        on_error=lambda peer, error: errors.append(str(error)),
        transport="tcp" if transport == "tcp" else "unix",
        zmq=transport == "zmq",
    ) as listener:
        env = dict(os.environ, **listener.task_environment())
        if transport != "zmq":
            env.pop("LUTE_ZMQ_ADDRESS", None)
        seconds = run_client(kind, transport, count, size, env, finish)
        if not listener.wait_idle(60) or errors:
            raise RuntimeError("listener problems: %s" % errors)
    if kind == "large" and _nbytes(finish.last) != size:
        raise RuntimeError("large payload arrived with %d bytes" % _nbytes(finish.last))
    return seconds


def _nbytes(payload: Any) -> int:
    return memoryview(payload).nbytes


def raw_run(kind: str, transport: str, count: int, size: int) -> float:
    """One measurement of the raw-socket baseline."""
    finish = Finish(count if kind == "raw-small" else 1)
    directory = tempfile.mkdtemp(prefix="lute-bench-", dir="/tmp")
    warm = None
    if kind == "raw-large-warm":
        warm = bytearray(b"\x01") * size  # allocated and touched before the clock starts
    if transport == "unix":
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        where = os.path.join(directory, "raw")
        server.bind(where)
    else:
        server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        server.bind(("127.0.0.1", 0))
        where = "127.0.0.1:%d" % server.getsockname()[1]
    server.listen(1)
    server.settimeout(WAIT)
    if kind == "raw-small":
        target: Callable[..., None] = _raw_small_receiver
        args: Tuple[Any, ...] = (server, finish)
    else:
        target, args = _raw_large_receiver, (server, finish, warm)
    receiver = threading.Thread(target=target, args=args, daemon=True)
    receiver.start()
    try:
        env = dict(os.environ, **{RAW_ADDRESS: where})
        return run_client(kind, transport, count, size, env, finish)
    finally:
        receiver.join(WAIT)
        server.close()
        shutil.rmtree(directory, ignore_errors=True)


def _raw_small_receiver(server: socket.socket, finish: Finish) -> None:
    conn, _ = server.accept()
    with conn:
        buffer = bytearray(1 << 20)
        view = memoryview(buffer)
        start = end = 0
        while finish.received < finish.expected:
            if len(buffer) - end < 1 << 16:
                view[: end - start] = view[start:end]
                start, end = 0, end - start
            got = conn.recv_into(view[end:])
            if not got:
                return
            end += got
            while end - start >= 4:
                (length,) = LENGTH.unpack_from(buffer, start)
                if end - start - 4 < length:
                    break
                pickle.loads(view[start + 4 : start + 4 + length])
                start += 4 + length
                finish.count()


def _raw_large_receiver(server: socket.socket, finish: Finish, warm: Optional[bytearray]) -> None:
    conn, _ = server.accept()
    with conn:
        head = bytearray(SIZE.size)
        conn.recv_into(head, SIZE.size, socket.MSG_WAITALL)
        (size,) = SIZE.unpack(head)
        # a fresh buffer, as the Listener allocates for each frame (or a reused one)
        body = bytearray(size) if warm is None else warm
        view = memoryview(body)
        got = 0
        while got < size:
            count = conn.recv_into(view[got:])
            if not count:
                return
            got += count
        payload = numpy.frombuffer(body, dtype=numpy.float64) if numpy is not None else body
        finish.count(payload)


def warm_memory(size: int) -> float:
    """Touch ``size`` bytes of fresh memory once, free it, and return the seconds taken.

    On a virtual machine the first touch of guest memory that was never used before
    makes the hypervisor back it, which can cost seconds per GiB; later touches of
    freed-and-reused memory cost the guest kernel's page zeroing only (until the guest
    hands its free memory back to the hypervisor, seconds later). Done before each
    payload size's rows, so that whichever row runs first does not pay the hypervisor's
    price in place of the others.
    """
    started = time.perf_counter()
    block = bytearray(size)  # zero-filled: every page is written
    del block
    return time.perf_counter() - started


STATISTIC = {"best": min, "median": statistics.median}
_statistic: Callable[[List[float]], float] = min


def summarize(repeat: int, measure: Callable[[], float]) -> float:
    """Seconds of ``repeat`` measurements, summarized by the chosen statistic."""
    return _statistic([measure() for _ in range(repeat)])


# --- import cost on Python 3.8 ------------------------------------------------------------


def find_python38(explicit: Optional[str]) -> Optional[str]:
    candidates = [explicit, os.environ.get("LUTE_TEST_PYTHON38")]
    candidates += sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.8*/bin/python3.8")))
    candidates.append(shutil.which("python3.8"))
    for candidate in candidates:
        if not candidate:
            continue
        try:
            probe = subprocess.run(
                [candidate, "-c", "import sys; print(sys.version_info[:2] == (3, 8))"],
                capture_output=True,
                text=True,
                timeout=60,
            )
        except (OSError, subprocess.TimeoutExpired):
            continue
        if probe.stdout.strip() == "True":
            return candidate
    return None


def import_cost(python: str, statement: str, runs: int) -> Tuple[Optional[float], str]:
    """Median wall time (s) of ``python -c statement``, or None and the error."""
    cache = tempfile.mkdtemp(prefix="lute-bench-pyc-")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "LUTE_"))}
    # Bytecode cached out of the tree, as an installed package has it.
    env.update(PYTHONPATH=str(RUNTIME_SRC), PYTHONPYCACHEPREFIX=cache)
    try:
        warm = subprocess.run(
            [python, "-c", statement], env=env, capture_output=True, text=True, timeout=120
        )
        if warm.returncode != 0:
            return None, (warm.stderr.strip().splitlines() or ["failed"])[-1]
        # No timeout here: subprocess.run with a timeout polls with growing sleeps,
        # which rounds a ~20 ms run up by as much as 16 ms. The warm-up run above has
        # already shown that the statement terminates.
        times = [timed([python, "-c", statement], env) for _ in range(runs)]
        return statistics.median(times), ""
    finally:
        shutil.rmtree(cache, ignore_errors=True)


# --- table ----------------------------------------------------------------------------------


def hmac_speed(size: int) -> float:
    """hashlib HMAC-SHA256 throughput on this machine (GB/s), for reference."""
    import hmac

    data = bytes(size) if numpy is None else numpy.ones(size // 8).tobytes()
    started = time.perf_counter()
    hmac.new(new_key(), data, hashlib.sha256).digest()
    return size / (time.perf_counter() - started) / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller counts, one repeat")
    parser.add_argument("--repeat", type=int, help="runs per figure (default 3, quick 1)")
    parser.add_argument(
        "--stat",
        choices=sorted(STATISTIC),
        default="best",
        help="summary of the repeats: best (least disturbed by other load) or median",
    )
    parser.add_argument("--messages", type=int, help="small messages per run")
    parser.add_argument(
        "--import-module", default="lute.tasks.task", help="module whose import is timed"
    )
    parser.add_argument("--python38", help="Python 3.8 interpreter for the import rows")
    parser.add_argument(
        "--only",
        choices=("small", "recorded", "large", "import"),
        action="append",
        help="run only these groups of rows (repeatable; default: all)",
    )
    parser.add_argument(
        "--no-warm-memory",
        action="store_true",
        help="skip touching 3x each payload size before its rows (see warm_memory)",
    )
    parser.add_argument("--client", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:
        kind, transport, count, size = args.client
        client(kind, transport, int(count), int(size))
        return

    global _statistic
    _statistic = STATISTIC[args.stat]
    repeat = args.repeat or (1 if args.quick else 3)
    messages = args.messages or (20_000 if args.quick else 200_000)
    sizes = [64 << 20, 256 << 20] if args.quick else [256 << 20, 1 << 30]
    payload_kind = "numpy array" if numpy is not None else "bytes"
    rows: List[Tuple[str, str, str, str]] = []

    def add(what: str, lute: str, raw: str, ratio: str) -> None:
        rows.append((what, lute, raw, ratio))
        sys.stderr.write("  %s: %s | %s\n" % (what, lute, raw))

    groups = set(args.only or ("small", "recorded", "large", "import"))
    raw_small: Dict[str, float] = {}
    for transport in ("unix", "tcp", "zmq") if "small" in groups else ():
        if transport == "zmq" and not _have_zmq():
            add("small messages, zmq", "n/a (pyzmq missing)", "", "")
            continue
        lute = messages / summarize(repeat, lambda t=transport: lute_run("small", t, messages, 0))
        base_transport = "unix" if transport == "zmq" else transport
        if base_transport not in raw_small:
            raw_small[base_transport] = messages / summarize(
                repeat, lambda t=base_transport: raw_run("raw-small", t, messages, 0)
            )
        raw = raw_small[base_transport]
        add(
            "%d small messages, %s" % (messages, transport),
            f"{lute:,.0f} msg/s",
            f"{raw:,.0f} msg/s (raw {base_transport})",
            "%.2fx" % (lute / raw),
        )
    if "recorded" in groups:
        from lute.execution.run_state import MAX_STORED_MESSAGES

        # At most the cap: past it messages are counted, not stored, and would make
        # this row faster than storing is.
        stored = min(messages, MAX_STORED_MESSAGES)
        flood = stored / summarize(repeat, lambda: recorded_run(stored))
        listener = raw_small.get("unix")
        add(
            "%d messages through lute-exec run, every one stored in the DB (cap %d)"
            % (stored, MAX_STORED_MESSAGES),
            f"{flood:,.0f} msg/s",
            f"{listener:,.0f} msg/s (raw unix)" if listener else "",
            "%.2fx" % (flood / listener) if listener else "",
        )
    for size in sizes if "large" in groups else ():
        label = "%d MiB %s" % (size >> 20, payload_kind)
        if not args.no_warm_memory:
            seconds = warm_memory(3 * size)
            sys.stderr.write("  warmed %d MiB of memory in %.2f s\n" % (3 * size >> 20, seconds))
        for transport in ("unix", "tcp", "zmq"):
            if transport == "zmq" and not _have_zmq():
                continue
            lute = size / summarize(repeat, lambda t=transport, n=size: lute_run("large", t, 1, n))
            if transport == "zmq":
                add("%s, zmq" % label, "%.2f GB/s" % (lute / 1e9), "", "")
                continue
            raw = size / summarize(
                repeat, lambda t=transport, n=size: raw_run("raw-large", t, 1, n)
            )
            add(
                "%s, %s" % (label, transport),
                "%.2f GB/s" % (lute / 1e9),
                "%.2f GB/s (raw copy, fresh buffer)" % (raw / 1e9),
                "%.2fx" % (lute / raw),
            )
            if transport == "unix":
                warm = size / summarize(
                    repeat, lambda n=size: raw_run("raw-large-warm", "unix", 1, n)
                )
                add(
                    "%s, unix: raw copy, reused buffer" % label,
                    "",
                    "%.2f GB/s (no allocation)" % (warm / 1e9),
                    "%.2fx" % (lute / warm),
                )
    if "large" in groups:
        add("HMAC-SHA256 alone (hashlib, 256 MiB)", "%.2f GB/s" % hmac_speed(256 << 20), "", "")

    python38 = find_python38(args.python38) if "import" in groups else None
    runs = 5 if args.quick else 15
    if "import" not in groups:
        pass
    elif python38 is None:
        add("imports on Python 3.8", "n/a (no python3.8 found)", "", "")
    else:
        bare, _ = import_cost(python38, "pass", runs)
        assert bare is not None
        for module in dict.fromkeys([args.import_module, "lute.execution.ipc"]):
            cost, error = import_cost(python38, "import %s" % module, runs)
            if cost is None:
                add("import %s (3.8)" % module, "failed: %s" % error, "", "")
                continue
            add(
                "import %s (3.8, wall)" % module,
                "%.1f ms" % (cost * 1e3),
                "%.1f ms (python3.8 -c pass)" % (bare * 1e3),
                "%+.1f ms" % ((cost - bare) * 1e3),
            )

    header = ("measurement", "LUTE IPC", "baseline", "LUTE / baseline")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(4)]
    lines = [header, tuple("-" * w for w in widths), *rows]
    print(
        "\nLUTE IPC benchmark: %s of %d run(s); Python %s; %d CPUs; Task = separate process"
        % (args.stat, repeat, "%d.%d.%d" % sys.version_info[:3], os.cpu_count() or 0)
    )
    for line in lines:
        print("| " + " | ".join(cell.ljust(w) for cell, w in zip(line, widths)) + " |")


def recorded_run(count: int) -> float:
    """Seconds ``count`` plain messages add to a real ``lute-exec run`` (Executor hooks,
    console and the database's batches included), over the same run with one message.

    Every message must be stored: ``count`` is at most the per-run cap.
    """
    sys.path.insert(0, str(ROOT))
    from tests.conftest import install_flood_package, write_config

    with tempfile.TemporaryDirectory(prefix="lute-flood-", dir="/tmp") as tmp:
        base = Path(tmp)
        site = install_flood_package(base / "site")
        config = write_config(base, "Flood: {}\n")
        env = dict(os.environ, PYTHONPATH=str(site))
        command = [sys.executable, "-m", "lute.execution.cli", "run", "-c", str(config)]
        times = []
        for n in (1, count):
            started = time.perf_counter()
            subprocess.run(
                [*command, "-t", "FloodRunner", "Flood.count=%d" % n],
                env=env,
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            times.append(time.perf_counter() - started)
        from lute.io.db import Database

        with Database(str(base / "work" / "lute.db"), readonly=True) as db:
            last = db.executions(limit=1)[0]
            stored = len(db.messages(last.id))
        if stored != count:
            raise RuntimeError("only %d of %d messages were stored" % (stored, count))
        return max(times[1] - times[0], 1e-9)


def _have_zmq() -> bool:
    try:
        import zmq  # noqa: F401
    except ImportError:
        return False
    return True


if __name__ == "__main__":
    main()
