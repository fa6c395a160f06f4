"""HTTP POSTs to the eLog with timeouts and a bounded retry, on stdlib ``urllib``.

Kept apart from :mod:`lute.io.elog` so that importing the public module costs
nothing: this module (and ``urllib.request``, ``http.client``...) is imported
only when something is actually posted.
"""

from __future__ import annotations

import base64
import http.client
import json
import mimetypes
import os
import socket
import time
import urllib.error
import urllib.request
from typing import Any, List, Optional, Sequence, Tuple

from lute.io.elog._log import logger

__all__ = ["ElogPostError", "encode_multipart", "post", "post_json"]

USER_AGENT = "lute-executor (eLog reporter)"
# Enough to show a server's error message in a log line, not a whole HTML error page.
_BODY_SNIPPET = 300
_MAX_RESPONSE_BYTES = 1 << 20


class ElogPostError(RuntimeError):
    """A POST failed for good (after the retries, or at once for a non-transient error)."""


def encode_multipart(
    fields: Sequence[Tuple[str, str]], files: Sequence[Tuple[str, str, str]]
) -> Tuple[bytes, str]:
    """Encode form fields and file attachments as ``multipart/form-data``.

    Args:
        fields: ``(name, value)`` text fields, sent as UTF-8.
        files: ``(field name, path, file name shown to readers)`` attachments.

    Returns:
        The body and its ``Content-Type`` header value (with the boundary).

    Raises:
        OSError: A file cannot be read.
    """
    boundary = "lute-" + os.urandom(16).hex()
    chunks: List[bytes] = []

    def header(disposition: str, content_type: Optional[str]) -> None:
        chunks.append(b"--" + boundary.encode("ascii") + b"\r\n")
        chunks.append(("Content-Disposition: form-data; %s\r\n" % disposition).encode("utf-8"))
        if content_type:
            chunks.append(("Content-Type: %s\r\n" % content_type).encode("ascii"))
        chunks.append(b"\r\n")

    for name, value in fields:
        header('name="%s"' % _quote(name), None)
        chunks.append(value.encode("utf-8") + b"\r\n")
    for name, path, filename in files:
        with open(path, "rb") as handle:
            data = handle.read()
        content_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
        header('name="%s"; filename="%s"' % (_quote(name), _quote(filename)), content_type)
        chunks.append(data + b"\r\n")
    chunks.append(b"--" + boundary.encode("ascii") + b"--\r\n")
    return b"".join(chunks), "multipart/form-data; boundary=" + boundary


def _quote(value: str) -> str:
    # What browsers do: a quote or a line break cannot appear inside the quoted string.
    return value.replace('"', "%22").replace("\r", " ").replace("\n", " ")


def _transient(error: BaseException, idempotent: bool) -> bool:
    """Whether retrying might succeed (and cannot do harm)."""
    if isinstance(error, urllib.error.HTTPError):
        return error.code >= 500 or error.code in (408, 429)
    reason = error.reason if isinstance(error, urllib.error.URLError) else error
    if isinstance(reason, ConnectionRefusedError):
        return True  # nothing was sent: always safe to try again
    if isinstance(reason, (ConnectionError, socket.timeout, TimeoutError)):
        # The server may have acted on the request before the connection broke:
        # a second eLog entry would be a duplicate, a second counters update is not.
        return idempotent
    if isinstance(reason, http.client.HTTPException):
        return idempotent
    return False


def _describe(error: BaseException) -> str:
    if isinstance(error, urllib.error.HTTPError):
        try:
            body = error.read(_BODY_SNIPPET).decode("utf-8", "replace").strip()
        except Exception:
            body = ""
        return "HTTP %d %s%s" % (error.code, error.reason, (": " + body) if body else "")
    if isinstance(error, urllib.error.URLError):
        error = error.reason if isinstance(error.reason, BaseException) else error
    return "%s: %s" % (type(error).__name__, error)


def _refusal(body: bytes) -> Optional[str]:
    """The error of a 2xx reply that still says the request failed (``{"success": false}``)."""
    try:
        reply = json.loads(body.decode("utf-8"))
    except ValueError:
        return None  # not JSON: the status code is all there is
    if isinstance(reply, dict) and reply.get("success") is False:
        return str(reply.get("error_msg") or reply.get("error") or reply)
    return None


def post(
    url: str,
    body: bytes,
    content_type: str,
    *,
    what: str,
    auth: Any = None,
    timeout: float = 10.0,
    attempts: int = 3,
    backoff: float = 0.5,
    idempotent: bool = True,
) -> int:
    """POST ``body`` to ``url``, retrying transient failures a bounded number of times.

    Args:
        url: Absolute ``http(s)`` URL.
        body: Request body.
        content_type: Its ``Content-Type``.
        what: Words for log and error messages, e.g. ``"eLog entry"``.
        auth: ``(user, password)`` for HTTP Basic auth, sent with the first request; or
            an object whose ``header(url)`` gives the ``Authorization`` header of each
            try (:class:`~lute.io.elog._kerberos.KerberosAuth`).
        timeout: Seconds allowed for connecting and for each read.
        attempts: Total number of tries (at least 1).
        backoff: Seconds before the second try; doubled before each further one.
        idempotent: Whether a request that may have reached the server can be repeated.

    Returns:
        The HTTP status of the successful reply.

    Raises:
        ElogPostError: Every try failed, or a failure that retrying cannot fix.
    """
    headers = {"Content-Type": content_type, "User-Agent": USER_AGENT}
    if isinstance(auth, tuple):
        token = base64.b64encode(("%s:%s" % auth).encode("utf-8")).decode("ascii")
        headers["Authorization"] = "Basic " + token
    attempts = max(1, attempts)
    for attempt in range(1, attempts + 1):
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        try:
            if auth is not None and not isinstance(auth, tuple):
                # A token is good for one request only: a new one for every try.
                request.add_header("Authorization", auth.header(url))
            with urllib.request.urlopen(request, timeout=timeout) as response:
                status = int(response.status)
                refusal = _refusal(response.read(_MAX_RESPONSE_BYTES))
        except Exception as error:
            if not isinstance(error, (OSError, http.client.HTTPException)):
                raise  # a bug, not a network problem
            problem = _describe(error)
            if attempt < attempts and _transient(error, idempotent):
                delay = backoff * (2 ** (attempt - 1))
                logger.info(
                    "%s to %s failed (%s); retrying in %.1f s (attempt %d of %d)",
                    what,
                    _redact(url),
                    problem,
                    delay,
                    attempt + 1,
                    attempts,
                )
                time.sleep(delay)
                continue
            tries = "after %d attempts" % attempt if attempt > 1 else "at the first attempt"
            raise ElogPostError(
                "%s to %s failed %s: %s" % (what, _redact(url), tries, problem)
            ) from None
        if refusal is not None:
            raise ElogPostError("%s to %s was refused: %s" % (what, _redact(url), refusal))
        return status
    raise AssertionError("unreachable")  # pragma: no cover


def _redact(url: str) -> str:
    """The URL without a query string (JID update URLs may carry a token there)."""
    return url.split("?", 1)[0]


def post_json(url: str, document: Any, **kwargs: Any) -> int:
    """POST ``document`` as JSON; the keyword arguments are those of :func:`post`."""
    return post(url, json.dumps(document).encode("utf-8"), "application/json", **kwargs)
