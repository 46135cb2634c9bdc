"""The identifiers and limits the tests share, each defined once.

``SMALL``: parts of 4 to 64 bytes (the last of a layer 1 to 64), advised in 8-byte
steps, so that a test reaches every part rule with a few bytes.
"""

from __future__ import annotations

from ecr_upload_model import Limits

#: A registry id, the 12 digits of an AWS account.
REGISTRY_ID = "123456789012"
#: A repository name valid in both grammars.
REPOSITORY = "team/app"
#: An upload id of the form ECR gives (a UUID).
UPLOAD_ID = "00000000-0000-0000-0000-000000000000"
SMALL = Limits(max_part_bytes=64, min_part_bytes=4, part_size=8)
#: What a call may allocate beyond the part it carries (the head of the body looked at,
#: the request, the session, the answer or the error): the bound of the memory tests.
ALLOCATION_SLACK_BYTES = 64 * 1024
