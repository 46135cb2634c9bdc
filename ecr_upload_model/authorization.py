"""The passwords GetAuthorizationToken hands out: signed, so that nothing is stored.

A password names its registry and its expiry and carries an HMAC-SHA256 of both under
the registry's secret: any process that holds the same secret can verify it later (the
registry's ``/v2/`` endpoint checks the HTTP Basic password ``AWS:<password>``), and no
process has to remember which passwords it issued. Time comes in as an argument.

>>> password = issue_password(b"secret", RegistryId("123456789012"), expires_at=1_000)
>>> verify_password(password, secret=b"secret", registry_id="123456789012", now=999.5)
True
>>> verify_password(password, secret=b"secret", registry_id="123456789012", now=1_000)
False
>>> verify_password(password, secret=b"other", registry_id="123456789012", now=0)
False
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Final

from .errors import UsageError
from .identifiers import RegistryId

__all__ = ["PASSWORD_USER", "authorization_token", "issue_password", "verify_password"]

#: The user name of ECR's Basic credentials: ``AWS``.
PASSWORD_USER: Final = "AWS"
#: The first field of a password: the form of the rest, should it ever change.
_FORM: Final = "ecrum1"
#: An expiry is a whole number of seconds since the epoch; more digits than a long's are
#: no expiry of ours (and ``int`` of a long text costs time).
_MAX_EXPIRY_DIGITS: Final = 19


def _mac(secret: bytes, registry_id: str, expires_at: int) -> str:
    message = f"{_FORM}\n{registry_id}\n{expires_at}".encode("ascii")
    digest = hmac.new(secret, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def issue_password(secret: bytes, registry_id: RegistryId, expires_at: int) -> str:
    """A password for ``registry_id`` that verifies until ``expires_at`` (epoch seconds)."""
    if type(secret) is not bytes or not secret:
        raise UsageError("the secret must be non-empty bytes")
    if type(expires_at) is not int or not 0 <= expires_at < 10**_MAX_EXPIRY_DIGITS:
        raise UsageError(f"expires_at must be a whole number of seconds, not {expires_at!r}")
    return f"{_FORM}.{registry_id}.{expires_at}.{_mac(secret, str(registry_id), expires_at)}"


def authorization_token(password: str) -> str:
    """GetAuthorizationToken's ``authorizationToken``: base64 of ``AWS:<password>``."""
    return base64.b64encode(f"{PASSWORD_USER}:{password}".encode()).decode("ascii")


def verify_password(
    password: str, *, secret: bytes, registry_id: RegistryId | str, now: float
) -> bool:
    """True if ``password`` was issued with ``secret`` for ``registry_id`` and has not
    expired at ``now`` (epoch seconds). Any other text, of any length, is False; the MAC
    is compared in constant time."""
    if type(password) is not str or type(secret) is not bytes or not secret:
        return False
    form, _, rest = password.partition(".")
    registry, _, rest = rest.partition(".")
    expiry, _, mac = rest.partition(".")
    if (
        form != _FORM
        or registry != str(registry_id)
        or not (expiry.isascii() and expiry.isdigit() and len(expiry) <= _MAX_EXPIRY_DIGITS)
    ):
        return False
    expected = _mac(secret, registry, int(expiry))
    given = mac.encode("utf-8", "surrogatepass")
    return hmac.compare_digest(expected.encode("ascii"), given) and now < int(expiry)
