"""The response type every SCIM endpoint answers with."""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import Response

SCIM_MEDIA_TYPE = "application/scim+json"


class ScimResponse(Response):
    """JSON as ``application/scim+json`` (RFC 7644 §3.1); ``None`` content sends no body."""

    media_type = SCIM_MEDIA_TYPE

    def render(self, content: Any) -> bytes:
        if content is None:
            return b""
        return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
