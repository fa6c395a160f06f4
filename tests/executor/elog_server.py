"""A real HTTP server on 127.0.0.1 that stands in for the facility's eLog in tests.

It accepts a POST on any path, records it, and answers ``{"success": true}``
unless told otherwise. It parses what a real server would: JSON bodies, URL-encoded
and ``multipart/form-data`` forms (with its own parser, independent of the client's
encoder), HTTP Basic credentials and SPNEGO (``Authorization: Negotiate <token>``, the
Kerberos/GSSAPI scheme) tokens.

Usage, e.g. in a fixture::

    with ElogTestServer(credentials=("opr", "secret")) as server:
        server.fail_next(500, 500)              # the next two requests get HTTP 500
        reporters = make_reporters(work_dir, server.environ(LUTE_ELOG_ATTEMPTS="3"))
        ...
        entry = server.wait_for_requests(1, path_prefix="/lbapi/elog/")[0]
        assert entry.form["log_title"].endswith("COMPLETED")
        assert entry.files[0].filename == "Hits.html"

Every wait has a timeout, and :meth:`ElogTestServer.stop` (called by ``with``) ends
the server promptly even while a handler is sleeping on a configured delay.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, List, Optional, Tuple, Union
from urllib.parse import parse_qs, urlsplit

__all__ = ["COUNTERS_PATH", "ElogTestServer", "RecordedRequest", "Reply", "UploadedFile"]

#: Path of the run-status counters endpoint (the value of ``JID_UPDATE_COUNTERS``).
COUNTERS_PATH = "/jid/job/1234/update_counters"
# Bodies larger than this are refused: a test should never need more.
_MAX_BODY = 256 * 1024 * 1024


@dataclass
class UploadedFile:
    """One file part of a ``multipart/form-data`` request."""

    field: str
    filename: str
    content_type: str
    data: bytes


@dataclass
class RecordedRequest:
    """One request as the server saw it.

    Attributes:
        method: ``"POST"``, ``"GET"``...
        path: The path without its query string.
        query: The parsed query string.
        headers: Request headers, names in lower case.
        body: The raw body.
        json: The parsed body when it was JSON, else ``None``.
        form: Text fields of a URL-encoded or multipart form.
        files: File parts of a multipart form.
        auth: ``(user, password)`` from an HTTP Basic ``Authorization`` header.
        negotiate: The token of an ``Authorization: Negotiate`` header (decoded).
        status: The status the server answered with.
    """

    method: str
    path: str
    query: Dict[str, List[str]] = field(default_factory=dict)
    headers: Dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    json: Any = None
    form: Dict[str, str] = field(default_factory=dict)
    files: List[UploadedFile] = field(default_factory=list)
    auth: Optional[Tuple[str, str]] = None
    negotiate: Optional[bytes] = None
    status: int = 0


@dataclass
class Reply:
    """A configured answer: status, body and an optional delay before answering."""

    status: int = 200
    body: bytes = b'{"success": true}'
    content_type: str = "application/json"
    delay: float = 0.0


def _as_reply(value: Union[int, Reply]) -> Reply:
    if isinstance(value, Reply):
        return value
    if value >= 400:
        message = json.dumps({"success": False, "error_msg": "test server: HTTP %d" % value})
        return Reply(status=value, body=message.encode())
    return Reply(status=value)


def _parse_auth(header: Optional[str]) -> Optional[Tuple[str, str]]:
    if not header or not header.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:].strip()).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None
    user, _, password = decoded.partition(":")
    return user, password


def _parse_negotiate(header: Optional[str]) -> Optional[bytes]:
    if not header or not header.lower().startswith("negotiate "):
        return None
    try:
        return base64.b64decode(header[10:].strip(), validate=True)
    except ValueError:
        return None


def _parse_multipart(content_type: str, body: bytes) -> Tuple[Dict[str, str], List[UploadedFile]]:
    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body
    )
    if not message.is_multipart():
        raise ValueError("multipart body could not be parsed")
    form: Dict[str, str] = {}
    files: List[UploadedFile] = []
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        filename = part.get_filename()
        if filename is None:
            form[str(name)] = data.decode("utf-8")
        else:
            files.append(UploadedFile(str(name), filename, part.get_content_type(), data))
    return form, files


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def _handle(self) -> None:
        owner = self.server.owner
        length = int(self.headers.get("Content-Length") or 0)
        if length > _MAX_BODY:
            self.send_error(413)
            return
        body = self.rfile.read(length) if length else b""
        split = urlsplit(self.path)
        record = RecordedRequest(
            method=self.command,
            path=split.path,
            query=parse_qs(split.query),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
            auth=_parse_auth(self.headers.get("Authorization")),
            negotiate=_parse_negotiate(self.headers.get("Authorization")),
        )
        content_type = self.headers.get("Content-Type") or ""
        try:
            if content_type.startswith("application/json"):
                record.json = json.loads(body.decode("utf-8"))
            elif content_type.startswith("application/x-www-form-urlencoded"):
                parsed = parse_qs(body.decode("utf-8"), keep_blank_values=True)
                record.form = {key: values[-1] for key, values in parsed.items()}
            elif content_type.startswith("multipart/form-data"):
                record.form, record.files = _parse_multipart(content_type, body)
        except (ValueError, UnicodeDecodeError) as error:
            reply = Reply(400, json.dumps({"success": False, "error_msg": str(error)}).encode())
        else:
            reply = owner._next_reply(record)
        record.status = reply.status
        owner._record(record)
        if reply.delay and owner._stopping.wait(reply.delay):
            return  # the server is stopping: leave without answering
        self.send_response(reply.status)
        if reply.status == 401 and owner.negotiate is not None:
            self.send_header("WWW-Authenticate", "Negotiate")
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(reply.body)

    do_POST = do_GET = do_PUT = _handle

    def log_message(self, format: str, *args: Any) -> None:
        pass  # requests are recorded, not printed


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: ElogTestServer


class ElogTestServer:
    """An HTTP server on ``127.0.0.1`` (a free port) recording every request.

    Args:
        credentials: When given, requests without these HTTP Basic credentials are
            answered 401 (and still recorded).
        negotiate: When given, requests without this SPNEGO token (``Authorization:
            Negotiate <base64 token>``) are answered 401 with ``WWW-Authenticate:
            Negotiate``, as a Kerberos-protected eLog answers.
        default: The reply when nothing is queued (``200 {"success": true}``).
    """

    def __init__(
        self,
        *,
        credentials: Optional[Tuple[str, str]] = None,
        negotiate: Optional[bytes] = None,
        default: Optional[Reply] = None,
    ) -> None:
        self.credentials = credentials
        self.negotiate = negotiate
        self.default = default or Reply()
        self._queue: List[Tuple[Optional[str], Reply]] = []
        self._requests: List[RecordedRequest] = []
        self._lock = threading.Condition()
        self._stopping = threading.Event()
        self._server: Optional[_Server] = None
        self._thread: Optional[threading.Thread] = None

    # -- lifecycle ---------------------------------------------------------------

    def start(self) -> ElogTestServer:
        """Bind to a free port on 127.0.0.1 and serve in a background thread."""
        server = _Server(("127.0.0.1", 0), _Handler)
        server.owner = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port (waits at most a few seconds)."""
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None

    def __enter__(self) -> ElogTestServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- addresses ---------------------------------------------------------------

    @property
    def port(self) -> int:
        """The port the server listens on."""
        if self._server is None:
            raise RuntimeError("the server is not running; use start() or 'with'")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:40123`` (use as ``LUTE_ELOG_URL``)."""
        return "http://127.0.0.1:%d" % self.port

    @property
    def counters_url(self) -> str:
        """URL of the counters endpoint (use as ``JID_UPDATE_COUNTERS``)."""
        return self.url + COUNTERS_PATH

    @staticmethod
    def entry_path(experiment: str) -> str:
        """Path of the new-entry endpoint of ``experiment`` (the default template)."""
        return "/lbapi/elog/%s/new_elog_entry" % experiment

    def environ(self, **extra: str) -> Dict[str, str]:
        """Environment variables pointing LUTE at this server, plus ``extra``.

        Sets ``JID_UPDATE_COUNTERS``, ``LUTE_ELOG_URL``, a short
        ``LUTE_ELOG_TIMEOUT`` and the credentials when the server requires them.
        """
        env = {
            "JID_UPDATE_COUNTERS": self.counters_url,
            "LUTE_ELOG_URL": self.url,
            "LUTE_ELOG_TIMEOUT": "5",
        }
        if self.credentials is not None:
            env["LUTE_ELOG_USER"], env["LUTE_ELOG_PASSWORD"] = self.credentials
        env.update(extra)
        return env

    # -- behaviour ---------------------------------------------------------------

    def fail_next(self, *replies: Union[int, Reply], path_prefix: Optional[str] = None) -> None:
        """Answer the next requests with these replies, in order, then the default.

        Args:
            replies: HTTP statuses (an error status gets a ``{"success": false}``
                body) or full :class:`Reply` objects (e.g. with a ``delay``).
            path_prefix: Only requests whose path starts with it take these replies.
        """
        with self._lock:
            self._queue.extend((path_prefix, _as_reply(reply)) for reply in replies)

    def _next_reply(self, request: RecordedRequest) -> Reply:
        if self.credentials is not None and request.auth != self.credentials:
            return Reply(401, b'{"success": false, "error_msg": "not authorised"}')
        if self.negotiate is not None and request.negotiate != self.negotiate:
            return Reply(401, b'{"success": false, "error_msg": "no Kerberos token"}')
        with self._lock:
            for index, (prefix, reply) in enumerate(self._queue):
                if prefix is None or request.path.startswith(prefix):
                    del self._queue[index]
                    return reply
        return self.default

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)
            self._lock.notify_all()

    # -- what was received ---------------------------------------------------------

    @property
    def requests(self) -> List[RecordedRequest]:
        """Every request so far, in arrival order (a copy)."""
        with self._lock:
            return list(self._requests)

    def requests_to(self, path_prefix: str) -> List[RecordedRequest]:
        """The requests whose path starts with ``path_prefix``."""
        return [r for r in self.requests if r.path.startswith(path_prefix)]

    def wait_for_requests(
        self, count: int, *, path_prefix: str = "", timeout: float = 10.0
    ) -> List[RecordedRequest]:
        """Wait until ``count`` requests (to ``path_prefix``) have arrived.

        Raises:
            TimeoutError: Fewer arrived within ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                found = [r for r in self._requests if r.path.startswith(path_prefix)]
                if len(found) >= count:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(
                        "%d request(s) to %r arrived within %.1f s, expected %d"
                        % (len(found), path_prefix, timeout, count)
                    )
                self._lock.wait(remaining)
