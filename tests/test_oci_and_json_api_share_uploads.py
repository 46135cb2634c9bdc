"""/v2/ and the JSON API run the same registry: one upload, one set of layers."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping

from oci_calls import V2, code, digest_text

from ecr_upload_model.operations import TARGET_PREFIX
from ecr_upload_model.wire import handle

DATA = bytes(range(100))


def json_call(v2: V2, operation: str, body: Mapping[str, object]) -> tuple[int, dict[str, object]]:
    status, _, answer = handle(
        v2.registry, f"{TARGET_PREFIX}.{operation}", json.dumps(body).encode()
    )
    return status, json.loads(answer)


def test_a_layer_pushed_over_v2_is_found_by_batch_check_over_the_json_api() -> None:
    v2 = V2()
    digest = v2.push(DATA)
    status, answer = json_call(
        v2,
        "BatchCheckLayerAvailability",
        {"repositoryName": "team/app", "layerDigests": [digest]},
    )
    assert status == 200
    assert answer["layers"] == [
        {"layerDigest": digest, "layerAvailability": "AVAILABLE", "layerSize": 100}
    ]


def test_a_layer_pushed_over_the_json_api_is_found_over_v2() -> None:
    v2 = V2()
    layer = DATA[:60]
    answer = json_call(v2, "InitiateLayerUpload", {"repositoryName": "team/app"})[1]
    upload_id = answer["uploadId"]
    part = {
        "repositoryName": "team/app",
        "uploadId": upload_id,
        "partFirstByte": 0,
        "partLastByte": 59,
        "layerPartBlob": base64.b64encode(layer).decode(),
    }
    assert json_call(v2, "UploadLayerPart", part)[0] == 200
    completion = {
        "repositoryName": "team/app",
        "uploadId": upload_id,
        "layerDigests": [digest_text(layer)],
    }
    assert json_call(v2, "CompleteLayerUpload", completion)[0] == 200
    head = v2.call("HEAD", f"/v2/team/app/blobs/{digest_text(layer)}")
    assert (head.status, head.headers["Content-Length"]) == (200, "60")
    assert v2.blob(digest_text(layer)) == layer


def test_an_upload_started_over_v2_takes_parts_over_the_json_api_and_back() -> None:
    v2 = V2()
    location = v2.start()
    upload_id = location.rpartition("/")[2]
    v2.patch(location, DATA[:40], 0)
    part = {
        "repositoryName": "team/app",
        "uploadId": upload_id,
        "partFirstByte": 40,
        "partLastByte": 79,
        "layerPartBlob": base64.b64encode(DATA[40:80]).decode(),
    }
    status, answer = json_call(v2, "UploadLayerPart", part)
    assert (status, answer["lastByteReceived"]) == (200, 79)
    assert v2.call("GET", location).headers["Range"] == "0-79"
    # The same part again over /v2/: refused as the JSON API would, with its range.
    response = v2.patch(location, DATA[40:80], 40)
    assert (code(response), response.headers["Range"]) == ((416, "BLOB_UPLOAD_INVALID"), "0-79")
    assert v2.put(location, digest_text(DATA), DATA[80:]).status == 201
    # Completed over /v2/, the upload is completed for the JSON API too.
    completion = {
        "repositoryName": "team/app",
        "uploadId": upload_id,
        "layerDigests": [digest_text(DATA)],
    }
    status, answer = json_call(v2, "CompleteLayerUpload", completion)
    assert (status, answer["__type"]) == (400, "UploadNotFoundException")
