"""What the eLog reporter is configured with: the environment and the config's ``elog`` block.

Every ``LUTE_ELOG_*`` variable (and ``JID_UPDATE_COUNTERS``) is read here, and only
here. A run configured by a YAML config also has its header's validated ``elog``
block (:class:`lute.io.models.header.ElogSettings`), whose values win over the
environment's:

- ``url`` replaces ``LUTE_ELOG_URL`` unless it is empty;
- ``post: false`` turns entries off, whatever ``LUTE_ELOG_ENTRIES`` says;
- ``user`` replaces ``LUTE_ELOG_USER`` unless it is empty;
- ``password_env`` names the variable holding the password, which must be set (even
  when nothing is posted); its value replaces ``LUTE_ELOG_PASSWORD``;
- ``timeout`` replaces ``LUTE_ELOG_TIMEOUT`` (it always has a value: 10 s by default).

- ``auth`` (``basic`` or ``kerberos``) replaces ``LUTE_ELOG_AUTH``;
- ``summaries_root`` replaces ``LUTE_SUMMARIES_ROOT``.

The counters URL, entry path, tags, attempts and ``LUTE_ELOG_RUN_TABLE`` come from the
environment only.
Errors name the variable a value would have come from, whichever source gave it.
Nothing here imports the reporter, HTTP code or pydantic.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, Mapping, Optional

from lute.settings import (
    ELOG_ATTEMPTS,
    ELOG_AUTH,
    ELOG_ENTRIES,
    ELOG_ENTRY_PATH,
    ELOG_PASSWORD,
    ELOG_RUN_TABLE,
    ELOG_TAGS,
    ELOG_TIMEOUT,
    ELOG_URL,
    ELOG_USER,
    JID_UPDATE_COUNTERS,
    SUMMARIES_ROOT,
)

if TYPE_CHECKING:  # pragma: no cover
    from lute.io.models.header import ElogSettings

__all__ = [
    "DEFAULT_ELOG_URL",
    "DEFAULT_ENTRY_PATH",
    "DEFAULT_RUN_TABLE_PATH",
    "invalid",
    "reporter_options",
    "status_options",
    "summaries_root",
]

#: Base URL used when eLog entries are switched on (``LUTE_ELOG_ENTRIES=1``) without
#: ``LUTE_ELOG_URL``.
DEFAULT_ELOG_URL = "https://pswww.slac.stanford.edu/ws-auth/lgbk"
#: Path of the new-entry endpoint below the base URL; ``{experiment}`` is filled in.
DEFAULT_ENTRY_PATH = "/lbapi/elog/{experiment}/new_elog_entry"
#: Path of the run-table (run parameters) endpoint below the base URL; the run is its
#: ``run_num`` query parameter.
DEFAULT_RUN_TABLE_PATH = "/lgbk/run_control/{experiment}/ws/add_run_params"


def invalid(error: ValueError) -> ValueError:
    """``error`` as the error of an unusable eLog setting."""
    return ValueError("eLog configuration from the environment: %s" % error)


def reporter_options(
    settings: Optional[ElogSettings], environ: Mapping[str, str]
) -> Optional[Dict[str, Any]]:
    """The keyword arguments of the ``ElogReporter`` asked for, or ``None`` if none is.

    Args:
        settings: The config's ``elog`` block, or ``None`` (the environment alone).
        environ: The environment.

    Returns:
        ``counters_url``, ``elog_url``, ``entry_path``, ``auth``, ``tags``, ``timeout``,
        ``attempts`` and ``run_table``; ``None`` when neither counters nor entries are
        asked for.

    Raises:
        ValueError: A value cannot be used; the message names its variable (or
            ``elog.password_env``). The reporter checks the rest (e.g. that the
            entry path holds ``{experiment}``) when it is built.
    """
    # Looked up first: a config naming a password variable expects it to be set, even
    # when nothing would be posted.
    config_password = _config_password(settings, environ)
    counters_url = _stripped(JID_UPDATE_COUNTERS.get(environ))
    try:
        elog_url = _elog_url(settings, environ)
    except ValueError as error:  # LUTE_ELOG_ENTRIES that is no yes or no
        raise invalid(error) from None
    if not counters_url and not elog_url:
        return None
    if settings is not None and settings.user:
        user: Optional[str] = str(settings.user)
        user_from = "the config's elog.user"
    else:
        user = ELOG_USER.get(environ)
        user_from = ELOG_USER.name
    if config_password is not None:
        password: Optional[str] = config_password
        password_from = "the variable named by elog.password_env"
    else:
        password = ELOG_PASSWORD.get(environ)
        password_from = ELOG_PASSWORD.name
    auth: Any
    if _auth_scheme(settings, environ) == "kerberos":
        from lute.io.elog._kerberos import KerberosAuth, check_available

        check_available()  # a missing extra shows at start-up, not as a lost post
        auth = KerberosAuth()
    else:
        if user and password is None:
            raise ValueError(
                "%s gives a user but no password is set: set %s or elog.password_env"
                % (user_from, ELOG_PASSWORD.name)
            )
        if password and not user:
            raise ValueError(
                "%s gives a password but no user is set: set %s or elog.user"
                % (password_from, ELOG_USER.name)
            )
        auth = (user, password or "") if user else None
    try:
        return {
            "counters_url": _checked_url(counters_url, JID_UPDATE_COUNTERS.name),
            "elog_url": _checked_url(elog_url, ELOG_URL.name),
            "entry_path": ELOG_ENTRY_PATH.get(environ) or DEFAULT_ENTRY_PATH,
            "auth": auth,
            "tags": str(ELOG_TAGS.get(environ)).split(),
            "timeout": _timeout(settings, environ),
            "attempts": int(ELOG_ATTEMPTS.get(environ)),
            "run_table": bool(ELOG_RUN_TABLE.get(environ)),
        }
    except ValueError as error:
        raise invalid(error) from None


def _auth_scheme(settings: Optional[ElogSettings], environ: Mapping[str, str]) -> str:
    """``"basic"`` or ``"kerberos"``: the config's ``elog.auth``, else ``LUTE_ELOG_AUTH``."""
    if settings is not None and getattr(settings, "auth", None):
        return str(settings.auth)
    return str(ELOG_AUTH.get(environ)).lower()  # SettingError is a ValueError


def summaries_root(settings: Optional[ElogSettings], environ: Mapping[str, str]) -> Optional[str]:
    """The facility summaries directory (``elog.summaries_root``, else
    ``LUTE_SUMMARIES_ROOT``), or ``None`` when neither sets one."""
    if settings is not None and getattr(settings, "summaries_root", None):
        return str(settings.summaries_root)
    return SUMMARIES_ROOT.get(environ) or None


def status_options(environ: Mapping[str, str]) -> Optional[Dict[str, Any]]:
    """The keyword arguments of a counters-only ``ElogReporter``, for status updates.

    Returns:
        ``counters_url``, ``timeout`` and ``attempts``; ``None`` without
        ``JID_UPDATE_COUNTERS``.

    Raises:
        ValueError: A value cannot be used; the message names its variable.
    """
    url = _stripped(JID_UPDATE_COUNTERS.get(environ))
    if not url:
        return None
    return {
        "counters_url": _checked_url(url, JID_UPDATE_COUNTERS.name),
        "timeout": float(ELOG_TIMEOUT.get(environ)),
        "attempts": int(ELOG_ATTEMPTS.get(environ)),
    }


def _config_password(settings: Optional[ElogSettings], environ: Mapping[str, str]) -> Optional[str]:
    """The password from the variable ``elog.password_env`` names; ``None`` if it names none."""
    if settings is None or not settings.password_env:
        return None
    if settings.password_env not in environ:
        raise ValueError("elog.password_env names %s, which is not set" % settings.password_env)
    return environ[settings.password_env]


def _elog_url(settings: Optional[ElogSettings], environ: Mapping[str, str]) -> Optional[str]:
    """The eLog base URL when entries are to be posted, else ``None``."""
    if settings is not None and settings.url:
        url = str(settings.url)
    else:
        url = ELOG_URL.get(environ) or ""
    elog_url = url.strip() or None
    if settings is not None and not settings.post:
        return None
    switch = ELOG_ENTRIES.get(environ)  # None when unset or blank; SettingError is a ValueError
    if switch is None:
        return elog_url
    return (elog_url or DEFAULT_ELOG_URL) if switch else None


def _timeout(settings: Optional[ElogSettings], environ: Mapping[str, str]) -> float:
    if settings is None:
        return float(ELOG_TIMEOUT.get(environ))
    # The model has checked it already; checked again, with the variable's message, for
    # settings made without validation (``model_construct``).
    return float(ELOG_TIMEOUT.parse(str(settings.timeout)))


def _checked_url(url: Optional[str], variable: str) -> Optional[str]:
    if url and not url.lower().startswith(("http://", "https://")):
        raise ValueError("%s must be an http:// or https:// URL, got %r" % (variable, url))
    return url


def _stripped(text: Optional[str]) -> Optional[str]:
    """``text`` without surrounding blanks; ``None`` for no text."""
    return text.strip() if text is not None else None
