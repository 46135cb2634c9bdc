"""AWS Signature Version 4 on the JSON API, checked as ECR checks it.

The header checks come first and need no body, so an unsigned or unknown caller is
refused before its body is read; the signature is then computed over the whole request
with botocore's own signer (``SigV4Auth``, over an ``AWSRequest`` rebuilt from the
incoming request's signed headers), and compared in constant time.

The answers, as ECR and the other AWS JSON services give them:

========================================  ======================================
no ``Authorization`` header                MissingAuthenticationTokenException
a header that is not a SigV4 signature     IncompleteSignature
an access key the server does not hold     UnrecognizedClientException
``X-Amz-Date`` more than 15 minutes off    InvalidSignatureException (expired)
any other mismatch                         InvalidSignatureException
========================================  ======================================
"""

from __future__ import annotations

import calendar
import hashlib
import hmac
import re
import time
from collections.abc import Mapping
from typing import Final

import attrs
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import ReadOnlyCredentials

from ..errors import (
    IncompleteSignature,
    InvalidSignatureException,
    MissingAuthenticationTokenException,
    UnrecognizedClientException,
)

__all__ = ["MAX_CLOCK_SKEW_SECONDS", "SERVICE", "SignedCall", "check_headers", "check_signature"]

#: A signed call is refused when its X-Amz-Date is more than this away from the
#: server's clock, either way: 15 minutes, ECR's window.
MAX_CLOCK_SKEW_SECONDS: Final = 15 * 60
#: The service name in the credential scope of every ECR call.
SERVICE: Final = "ecr"
ALGORITHM: Final = "AWS4-HMAC-SHA256"
#: SigV4's date form, as in X-Amz-Date: 20260102T030405Z.
_AMZ_DATE: Final = "%Y%m%dT%H%M%SZ"
_AUTHORIZATION: Final = re.compile(
    rf"{ALGORITHM} Credential=(?P<key>[^/\s,]+)/(?P<date>\d{{8}})/(?P<region>[^/\s,]+)"
    r"/(?P<service>[^/\s,]+)/aws4_request,\s*SignedHeaders=(?P<headers>[a-z0-9-]+(?:;[a-z0-9-]+)*)"
    r",\s*Signature=(?P<signature>[0-9a-f]{64})",
    re.ASCII,
)
_SIGNATURE_MISMATCH: Final = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. Consult the service "
    "documentation for details."
)


@attrs.frozen
class SignedCall:
    """What the header checks found: the key's secret and the parts of the signature."""

    secret: str
    access_key: str
    amz_date: str
    region: str
    signed_headers: tuple[str, ...]
    signature: str


def _date_text(seconds: float) -> str:
    return time.strftime(_AMZ_DATE, time.gmtime(seconds))


def check_headers(
    headers: Mapping[str, str], credentials: Mapping[str, str], now: float
) -> SignedCall:
    """The checks that need no body; ``headers`` by lower-case name. Raises the typed
    error the call is answered with."""
    authorization = headers.get("authorization")
    if authorization is None:
        raise MissingAuthenticationTokenException("Missing Authentication Token")
    match = _AUTHORIZATION.fullmatch(authorization.strip())
    if match is None:
        raise IncompleteSignature(
            f"Authorization header requires a {ALGORITHM} signature with Credential, "
            "SignedHeaders and Signature"
        )
    secret = credentials.get(match["key"])
    if secret is None:
        raise UnrecognizedClientException("The security token included in the request is invalid.")
    amz_date = headers.get("x-amz-date", "")
    try:
        signed_at = calendar.timegm(time.strptime(amz_date, _AMZ_DATE))
    except ValueError:
        raise IncompleteSignature(
            f"X-Amz-Date must be a date of the form 20260102T030405Z, not {amz_date!r}"
        ) from None
    if signed_at < now - MAX_CLOCK_SKEW_SECONDS:
        raise InvalidSignatureException(
            f"Signature expired: {amz_date} is now earlier than "
            f"{_date_text(now - MAX_CLOCK_SKEW_SECONDS)} ({_date_text(now)} - 15 min.)"
        )
    if signed_at > now + MAX_CLOCK_SKEW_SECONDS:
        raise InvalidSignatureException(
            f"Signature not yet current: {amz_date} is still later than "
            f"{_date_text(now + MAX_CLOCK_SKEW_SECONDS)} ({_date_text(now)} + 15 min.)"
        )
    if match["service"] != SERVICE:
        raise InvalidSignatureException(
            f"Credential should be scoped to correct service: '{SERVICE}'."
        )
    if match["date"] != amz_date[:8]:
        raise InvalidSignatureException(
            f"Credential should be scoped to a valid date: '{amz_date[:8]}'."
        )
    signed_headers = tuple(match["headers"].split(";"))
    if "host" not in signed_headers or any(name not in headers for name in signed_headers):
        raise InvalidSignatureException(_SIGNATURE_MISMATCH)
    return SignedCall(
        secret=secret,
        access_key=match["key"],
        amz_date=amz_date,
        region=match["region"],
        signed_headers=signed_headers,
        signature=match["signature"],
    )


def check_signature(
    call: SignedCall,
    *,
    method: str,
    path: str,
    query: str,
    headers: Mapping[str, str],
    body: bytes | bytearray,
) -> None:
    """The signature botocore's signer computes for the request, against the one sent."""
    signed = {name: headers[name] for name in call.signed_headers}
    declared = signed.get("x-amz-content-sha256")
    if declared is not None and not hmac.compare_digest(
        declared.encode(), hashlib.sha256(body).hexdigest().encode()
    ):
        # The signer would take the declared hash on trust: the body must match it.
        raise InvalidSignatureException("The provided 'x-amz-content-sha256' does not match")
    url = f"http://{signed['host']}{path}" + (f"?{query}" if query else "")
    request = AWSRequest(method=method, url=url, headers=signed, data=body)
    request.context["timestamp"] = call.amz_date
    signer = SigV4Auth(
        ReadOnlyCredentials(call.access_key, call.secret, None), SERVICE, call.region
    )
    canonical = signer.canonical_request(request)
    expected = signer.signature(signer.string_to_sign(request, canonical), request)
    if not hmac.compare_digest(expected.encode(), call.signature.encode()):
        raise InvalidSignatureException(_SIGNATURE_MISMATCH)
