"""The babelcast gateway: WebSocket protocol, rooms, fan-out, bus, REST, CLI, demo page."""

from gateway.app import Gateway, create_app
from gateway.settings import Settings

__all__ = ["Gateway", "Settings", "create_app"]
