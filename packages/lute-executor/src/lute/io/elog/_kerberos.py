"""Kerberos (GSSAPI/SPNEGO) authentication of eLog requests: the optional extra.

``pip install 'lute-executor[kerberos]'`` brings ``gssapi`` (the Python binding of the
system's GSSAPI library, which the usual HTTP plug-ins, requests-gssapi and
httpx-gssapi, are built on). Each request then carries ``Authorization: Negotiate
<token>``, a token for the service ``HTTP@<host of the URL>`` made from the Kerberos
ticket of the user running ``lute-exec`` (``kinit`` first). Imported only when an eLog
post is configured with Kerberos.
"""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import urlsplit

__all__ = ["KerberosAuth", "KerberosUnavailable", "check_available"]

INSTALL_HINT = "pip install 'lute-executor[kerberos]'"


class KerberosUnavailable(ValueError):
    """Kerberos authentication was asked for, but ``gssapi`` is not installed."""


def _gssapi() -> Any:
    try:
        import gssapi
    except ImportError as error:
        raise KerberosUnavailable(
            "Kerberos authentication of the eLog (LUTE_ELOG_AUTH=kerberos or elog.auth: "
            "kerberos) needs the gssapi package, which is not installed: %s (%s)"
            % (INSTALL_HINT, error)
        ) from None
    return gssapi


def check_available() -> None:
    """Raise :class:`KerberosUnavailable` now (at start-up) rather than at the first post."""
    _gssapi()


class KerberosAuth:
    """Makes the ``Authorization`` header of one request from the user's ticket.

    Args:
        service: The GSSAPI service name; ``None``: ``HTTP@<host of each URL>``.
    """

    scheme = "kerberos"

    def __init__(self, service: Any = None) -> None:
        self.service = service

    def header(self, url: str) -> str:
        """``Negotiate <base64 token>`` for a request to ``url``.

        Raises:
            OSError: No token could be made (no ticket: run ``kinit``), with the
                library's reason.
        """
        gssapi = _gssapi()
        service = self.service or "HTTP@%s" % (urlsplit(url).hostname or "")
        try:
            name = gssapi.Name(service, gssapi.NameType.hostbased_service)
            context = gssapi.SecurityContext(name=name, usage="initiate")
            token = context.step()
        except Exception as error:  # gssapi.exceptions.GSSError and friends
            raise OSError(
                "no Kerberos token for %s (is there a ticket? run kinit): %s" % (service, error)
            ) from None
        return "Negotiate " + base64.b64encode(token or b"").decode("ascii")

    def __repr__(self) -> str:
        return "KerberosAuth(%r)" % (self.service,)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, KerberosAuth) and other.service == self.service

    __hash__ = None  # type: ignore[assignment]
