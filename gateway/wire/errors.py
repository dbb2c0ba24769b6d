"""The one error the wire layer raises: ``ProtocolError``, a client frame or handshake value
that cannot be accepted. It names its code (``codes``) and becomes an ``error`` frame; the
connection stays open unless the handshake failed."""

from __future__ import annotations

from typing import Any

from babelcast.gateway.wire.server import error_frame


class ProtocolError(Exception):
    """A client frame that cannot be accepted. Becomes an ``error`` frame; the connection
    stays open."""

    def __init__(self, code: str, message: str, client_id: str | None = None, *,
                 retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.client_id = client_id
        self.retry_after_s = retry_after_s

    def frame(self) -> dict[str, Any]:
        """The ``error`` frame for this problem."""
        return error_frame(self.code, self.message, self.client_id, self.retry_after_s)
