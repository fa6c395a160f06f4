"""What the eLog reporter is configured with: the ``LUTE_ELOG_*`` environment.

Every ``LUTE_ELOG_*`` variable (and ``JID_UPDATE_COUNTERS``) is read here, and only
here; errors name the variable. Nothing here imports the reporter or HTTP code.
"""

from __future__ import annotations

from typing import Any, Dict, Mapping, Optional, Tuple

__all__ = [
    "DEFAULT_ELOG_URL",
    "DEFAULT_ENTRY_PATH",
    "invalid",
    "reporter_options",
    "status_options",
]

#: Base URL used when eLog entries are switched on (``LUTE_ELOG_ENTRIES=1``) without
#: ``LUTE_ELOG_URL``.
DEFAULT_ELOG_URL = "https://pswww.slac.stanford.edu/ws-auth/lgbk"
#: Path of the new-entry endpoint below the base URL; ``{experiment}`` is filled in.
DEFAULT_ENTRY_PATH = "/lbapi/elog/{experiment}/new_elog_entry"

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off", "")


def invalid(error: ValueError) -> ValueError:
    """``error`` as the error of an unusable eLog setting."""
    return ValueError("eLog configuration from the environment: %s" % error)


def reporter_options(environ: Mapping[str, str]) -> Optional[Dict[str, Any]]:
    """The keyword arguments of the ``ElogReporter`` asked for, or ``None`` if none is.

    Args:
        environ: The environment.

    Returns:
        ``counters_url``, ``elog_url``, ``entry_path``, ``auth``, ``tags``, ``timeout``
        and ``attempts``; ``None`` when neither counters nor entries are asked for.

    Raises:
        ValueError: A value cannot be used; the message names its variable. The
            reporter checks the rest (e.g. that the entry path holds ``{experiment}``)
            when it is built.
    """
    counters_url = environ.get("JID_UPDATE_COUNTERS", "").strip() or None
    elog_url = _elog_url(environ)
    if not counters_url and not elog_url:
        return None
    user = environ.get("LUTE_ELOG_USER") or None
    password = environ.get("LUTE_ELOG_PASSWORD")
    if user and password is None:
        raise ValueError("LUTE_ELOG_USER is set but LUTE_ELOG_PASSWORD is not")
    if password and not user:
        raise ValueError("LUTE_ELOG_PASSWORD is set but LUTE_ELOG_USER is not")
    auth: Optional[Tuple[str, str]] = (user, password or "") if user else None
    try:
        return {
            "counters_url": _checked_url(counters_url, "JID_UPDATE_COUNTERS"),
            "elog_url": _checked_url(elog_url, "LUTE_ELOG_URL"),
            "entry_path": environ.get("LUTE_ELOG_ENTRY_PATH") or DEFAULT_ENTRY_PATH,
            "auth": auth,
            "tags": environ.get("LUTE_ELOG_TAGS", "LUTE").split(),
            "timeout": _number(environ.get("LUTE_ELOG_TIMEOUT"), "LUTE_ELOG_TIMEOUT", 10.0, float),
            "attempts": int(
                _number(environ.get("LUTE_ELOG_ATTEMPTS"), "LUTE_ELOG_ATTEMPTS", 3, int)
            ),
        }
    except ValueError as error:
        raise invalid(error) from None


def status_options(environ: Mapping[str, str]) -> Optional[Dict[str, Any]]:
    """The keyword arguments of a counters-only ``ElogReporter``, for status updates.

    Returns:
        ``counters_url``, ``timeout`` and ``attempts``; ``None`` without
        ``JID_UPDATE_COUNTERS``.

    Raises:
        ValueError: A value cannot be used; the message names its variable.
    """
    url = environ.get("JID_UPDATE_COUNTERS", "").strip()
    if not url:
        return None
    return {
        "counters_url": _checked_url(url, "JID_UPDATE_COUNTERS"),
        "timeout": _number(environ.get("LUTE_ELOG_TIMEOUT"), "LUTE_ELOG_TIMEOUT", 10.0, float),
        "attempts": int(_number(environ.get("LUTE_ELOG_ATTEMPTS"), "LUTE_ELOG_ATTEMPTS", 3, int)),
    }


def _elog_url(environ: Mapping[str, str]) -> Optional[str]:
    """The eLog base URL when entries are to be posted, else ``None``."""
    elog_url = environ.get("LUTE_ELOG_URL", "").strip() or None
    switch = environ.get("LUTE_ELOG_ENTRIES")
    if switch is None:
        return elog_url
    flag = switch.strip().lower()
    if flag in _TRUE:
        return elog_url or DEFAULT_ELOG_URL
    if flag in _FALSE:
        return None
    raise ValueError("LUTE_ELOG_ENTRIES must be 1 or 0, got %r" % switch)


def _checked_url(url: Optional[str], variable: str) -> Optional[str]:
    if url and not url.lower().startswith(("http://", "https://")):
        raise ValueError("%s must be an http:// or https:// URL, got %r" % (variable, url))
    return url


def _number(raw: Optional[str], variable: str, default: float, kind: type) -> float:
    """``raw`` as a number greater than 0; ``default`` when it is unset or blank."""
    if raw is None or raw.strip() == "":
        return default
    try:
        value = kind(raw.strip())
    except ValueError:
        what = "a whole number" if kind is int else "a number"
        raise ValueError("%s must be %s, got %r" % (variable, what, raw)) from None
    if value <= 0:
        raise ValueError("%s must be greater than 0, got %r" % (variable, raw))
    return float(value)
