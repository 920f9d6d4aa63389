"""Store and storage URLs as they may be shown or kept: the password masked.

`postgresql+psycopg://lab:secret@db/runs` is shown as `postgresql+psycopg://lab:***@db/runs` in configs, trials,
study attributes, logs, CLI output and the window; a `password=` query parameter is masked the same way. A process
that needs to connect again with a URL it kept masked gets the password back from a URL it was given whole (the
store's, on the same server as the same user) with `with_password`; where there is none, the masked password is
dropped so the driver falls back on PGPASSWORD or ~/.pgpass. Plain standard library, so the window may use it."""

from __future__ import annotations

import re

MASK = "***"
_URL_IN_TEXT = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"<>]+")
_PASSWORD_PARAM = re.compile(r"(^|&)(password=)[^&]*", re.IGNORECASE)
_MASKED_PARAM = re.compile(r"password=\*\*\*", re.IGNORECASE)


def _split(url: str) -> tuple[str, str, str, str, str]:
    """(scheme://, user, password or "", host part, the rest) by plain string cuts, so that every other character of
    the URL (an SQLite URL's `////`, an escaped query) comes back exactly as it was."""
    head, _, tail = url.partition("://")
    cut = min([i for i in (tail.find("/"), tail.find("?"), tail.find("#")) if i >= 0], default=len(tail))
    authority, rest = tail[:cut], tail[cut:]
    userinfo, at, hostport = authority.rpartition("@")
    if not at:
        return head + "://", "", "", authority, rest
    user, colon, password = userinfo.partition(":")
    return head + "://", user, (password if colon else ""), hostport, rest


def _join(scheme: str, user: str, password: str, hostport: str, rest: str) -> str:
    userinfo = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    return f"{scheme}{userinfo}{hostport}{rest}"


def safe_url(url: str) -> str:
    """`url` with its password (in the user part or a `password=` parameter) replaced by ***; a file path as given."""
    if "://" not in url:
        return url
    scheme, user, password, hostport, rest = _split(url)
    path, question, query = rest.partition("?")
    if question:
        rest = path + "?" + _PASSWORD_PARAM.sub(rf"\1\2{MASK}", query)
    return _join(scheme, user, MASK if password else "", hostport, rest)


def mask_urls(text: str) -> str:
    """Every URL inside `text` (an error message, a log line) with its password masked."""
    return _URL_IN_TEXT.sub(lambda m: safe_url(m.group(0)), text)


def with_password(kept: str, given: str) -> str:
    """`kept` (a URL whose password may be masked) ready to connect: the password of `given` when both name the same
    server and user, else no password at all (the driver then reads PGPASSWORD or ~/.pgpass)."""
    if "://" not in kept:
        return kept
    scheme, user, password, hostport, rest = _split(kept)
    path, question, query = rest.partition("?")
    masked_param = bool(question) and _MASKED_PARAM.search(query) is not None
    if password != MASK and not masked_param:
        return kept
    same = "://" in given and _split(given)[1] == user and _split(given)[3] == hostport
    if masked_param:  # a masked `password=` parameter is never sent: given's own parameters stand in, or none
        kept_params = [p for p in query.split("&") if not _MASKED_PARAM.fullmatch(p)]
        given_params = _split(given)[4].partition("?")[2].split("&") if same else []
        params = kept_params + [p for p in given_params if p.lower().startswith("password=")]
        rest = path + ("?" + "&".join(params) if any(params) else "")
    secret = _split(given)[2] if same and password == MASK else ("" if password == MASK else password)
    return _join(scheme, user, "" if secret == MASK else secret, hostport, rest)


def without_password(url: str) -> str:
    """`url` with no password at all (a command line to print: the driver then reads PGPASSWORD or ~/.pgpass)."""
    return with_password(safe_url(url), "")
