"""WebSocket close codes of the Realtime protocol, as the live GA server uses them.

Recorded behaviour: the upgrade returns 101 even for a request that cannot succeed; the first frame is an
``error`` event and the server closes at once with one of these codes (docs/protocol-notes.md). A client
must not retry either: the same request fails the same way.
"""

from __future__ import annotations

__all__ = ["CLOSE_INVALID_KEY", "CLOSE_INVALID_REQUEST"]

CLOSE_INVALID_KEY = 3000
"""``invalid_request_error.invalid_api_key``: a bad or missing key."""
CLOSE_INVALID_REQUEST = 4000
"""``invalid_request_error.<code>``: ``invalid_model``, ``missing_model``, ``beta_api_shape_disabled``..."""
