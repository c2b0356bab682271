"""Passwords out of every line this process prints or writes.

A storage URL may carry a password (``postgresql://USER:PASSWORD@HOST/DB``, or libpq's
``?password=`` form). :func:`mask_url` hides it in the URL; every password of a URL this
process opened is remembered (:func:`remember_secrets`) and hidden, with every piece a
parser could cut it into, in any later message (:func:`mask_secrets`): a driver's error
may name a piece of it as a host.
"""

from __future__ import annotations

import re
import urllib.parse

from storage.urls import is_journal_url

# Characters at which a URL parser may cut a password that holds them unescaped: each
# piece can then reach a driver as a host, port or database name, and come back in its
# error message ("failed to resolve host 'ss@db'").
_CUTS = re.compile(r"[@:/?#&=]")
_QUERY_VALUE = re.compile(r"(?i)([?&][^=&]*(?:password|passwd|pwd)[^=&]*=)([^&#]*)")
SHORT_PIECE = 4  # pieces shorter than this are masked only where they stand alone
MASK = "***"
_secrets: set[str] = set()  # passwords (and pieces) of the URLs this process opened


def mask_url(url: str) -> str:
    """The URL with every password replaced by ``***``, for every log line, note and file.

    Done on the text, not through SQLAlchemy's ``make_url``: a password holding an
    unescaped ``@`` is split there by its parser (and half of it shown as the host), and
    a password in the query string (``?password=...``, libpq's form) is not hidden by
    ``render_as_string``. So: every query value whose key names a password is masked,
    then everything between the user name and the last ``@``; then every piece of the
    password shown elsewhere (:func:`mask_secrets`).
    """
    if is_journal_url(url) or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    rest = _QUERY_VALUE.sub(rf"\1{MASK}", rest)  # first, so a '@' there is not the last
    at = rest.rfind("@")  # a password may hold '@', '/' or '?': the last '@' ends it
    head, tail = (rest[:at], rest[at:]) if at >= 0 else ("", rest)
    if ":" in head:
        head = head.split(":", 1)[0] + ":" + MASK
    return mask_secrets(f"{scheme}://{head}{tail}", url)  # and any piece shown elsewhere


def password_fragments(url: str) -> set[str]:
    """The password of ``url`` (in the user part or the query string), as written and
    percent-decoded, and every piece a parser could cut it into at ``@ : / ? # & =``."""
    if is_journal_url(url) or "://" not in url:
        return set()
    found = {m.group(2) for m in _QUERY_VALUE.finditer(url)}
    rest = _QUERY_VALUE.sub(r"\1", url.split("://", 1)[1])
    at = rest.rfind("@")  # as mask_url: a password may hold '@'; the last one ends it
    if at >= 0 and ":" in rest[:at]:
        found.add(rest[:at].split(":", 1)[1])
    pieces: set[str] = set()
    for secret in found:
        for text in (secret, urllib.parse.unquote(secret)):
            pieces.add(text)
            pieces.update(_CUTS.split(text))
    return {p for p in pieces if p.strip("*")}


def host_as_written(url: str) -> str:
    """The host of ``url`` read as :func:`mask_url` reads it: after the last '@' outside
    the query's password values."""
    rest = _QUERY_VALUE.sub(r"\1", url.split("://", 1)[1])
    after = rest[rest.rfind("@") + 1:]
    if after.startswith("[") and "]" in after:  # an IPv6 address
        return after[1:after.index("]")]
    return re.split(r"[:/?]", after, maxsplit=1)[0]


def remember_secrets(url: str | None) -> None:
    """Mask ``url``'s password (and its pieces) in every later :func:`mask_secrets` call."""
    if url:
        _secrets.update(password_fragments(url))


def mask_secrets(text: str, url: str | None = None) -> str:
    """``text`` (an error, a driver's message, a traceback) with every password remembered
    by :func:`remember_secrets`, and ``url``'s, replaced by ``***``, with every piece of
    them (:func:`password_fragments`), longest first.

    A password or piece of at least ``SHORT_PIECE`` characters is masked wherever it
    occurs; a shorter one only where no letter or digit touches it (``'ss@h`` but not
    ``address``), so a one-letter piece does not make the message unreadable."""
    secrets = _secrets | (password_fragments(url) if url else set())
    for secret in sorted(secrets, key=len, reverse=True):
        if len(secret) >= SHORT_PIECE:
            text = text.replace(secret, MASK)
        else:
            text = re.sub(rf"(?<![^\W_]){re.escape(secret)}(?![^\W_])", MASK, text)
    return text
