"""A transport over a boto3 ECR client: :func:`~ecr_upload_model.planning.push_layer`'s
resume, retries and bounds on top of boto3's credentials, signing and endpoints.

The edge: the model never imports this module. It needs boto3 (the ``push`` extra).

>>> from ecr_upload_model.boto3_transport import Boto3Transport, ecr_client
>>> from ecr_upload_model.planning import push_layer
>>> transport = Boto3Transport(ecr_client(region_name="eu-west-1"))  # doctest: +SKIP
>>> push_layer(transport, layer, repository_name="team/app")  # doctest: +SKIP

The push retries as botocore's standard mode does; so that the two retry layers do not
multiply (3 attempts each would make 9 calls), a client made by :func:`ecr_client` has
boto3's own retries off (``total_max_attempts`` 1). A client of yours should have them
off as well, or the waits and attempts are boto3's times the push's.
"""

from __future__ import annotations

import base64
import binascii
import builtins
import json
from collections.abc import Mapping
from typing import Any, Final

from boto3.session import Session
from botocore import xform_name
from botocore.client import BaseClient
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

from .errors import UsageError
from .operations import LAYER_OPERATIONS, TARGET_PREFIX

__all__ = ["BOTO3_RETRIES", "Boto3Transport", "ecr_client"]

#: boto3's own retries, off: the push retries (``total_max_attempts`` counts the first).
BOTO3_RETRIES: Final[Mapping[str, object]] = {"total_max_attempts": 1, "mode": "standard"}


def ecr_client(
    *,
    endpoint_url: str | None = None,
    region_name: str | None = None,
    profile_name: str | None = None,
    max_pool_connections: int = 10,
) -> BaseClient:
    """A boto3 ECR client with boto3's retries off, credentials from boto3's usual chain
    (environment, shared files, ``profile_name``, instance roles...).

    ``endpoint_url`` addresses an ECR-compatible server instead of AWS; ECR's own
    endpoint for the region otherwise. ``max_pool_connections`` should be at least the
    number of pushes that share the client.
    """
    session = Session(profile_name=profile_name, region_name=region_name)
    return session.client(
        "ecr",
        endpoint_url=endpoint_url,
        config=Config(retries=dict(BOTO3_RETRIES), max_pool_connections=max_pool_connections),
    )


class Boto3Transport:
    """``(target, body) -> (status, headers, body)`` over a boto3 ECR client.

    The request body is handed to the client's operation as parameters, and the
    operation's answer, or the error it raised, is written back as the AWS JSON 1.1
    answer it came as (status, headers, ``__type``, ``message`` and the modelled members),
    so the push reads every answer the same way whatever the transport. No answer at all
    (boto3's connection errors and timeouts) is raised as ``ConnectionError``, an OSError,
    which the push retries. Other botocore errors (no credentials, no region) propagate.
    """

    def __init__(self, client: BaseClient) -> None:
        self.client = client

    def __call__(self, target: str, body: bytes) -> tuple[int, Mapping[str, str], bytes]:
        prefix, _, name = target.partition(".")
        if prefix != TARGET_PREFIX or name not in LAYER_OPERATIONS:
            raise UsageError(f"{target!r} is not an operation of a layer push")
        parameters = self._parameters(body)
        operation = getattr(self.client, xform_name(name))
        try:
            result: dict[str, Any] = operation(**parameters)
        except ClientError as error:
            return self._error_answer(error.response)
        except (ConnectionError, HTTPClientError) as error:
            raise builtins.ConnectionError(f"no answer from the registry: {error}") from error
        metadata = result.pop("ResponseMetadata", {})
        return (
            metadata.get("HTTPStatusCode", 200),
            metadata.get("HTTPHeaders", {}),
            json.dumps(result).encode(),
        )

    @staticmethod
    def _parameters(body: bytes) -> dict[str, Any]:
        try:
            parameters = json.loads(body)
            if not isinstance(parameters, dict):
                raise TypeError
            blob = parameters.get("layerPartBlob")
            if blob is not None:  # boto3 takes the bytes and writes the base64 itself
                parameters["layerPartBlob"] = base64.b64decode(blob, validate=True)
        except (ValueError, TypeError, binascii.Error):
            raise UsageError("the request body is not a JSON object of a request") from None
        return parameters

    @staticmethod
    def _error_answer(response: dict[str, Any]) -> tuple[int, Mapping[str, str], bytes]:
        metadata = response.get("ResponseMetadata", {})
        error = response.get("Error", {})
        members = {
            name: value
            for name, value in response.items()
            if name not in {"Error", "ResponseMetadata"}
        }
        obj = {**members, "__type": error.get("Code", ""), "message": error.get("Message", "")}
        return (
            metadata.get("HTTPStatusCode", 400),
            metadata.get("HTTPHeaders", {}),
            json.dumps(obj).encode(),
        )
