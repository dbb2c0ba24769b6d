"""The REST API, one module per resource, each given what it uses in a small deps dataclass:
``health`` (health, readiness, stats, metrics), ``rooms`` (room info, history, insights),
``room_settings``, ``glossaries``, ``translate``, ``tokens``, and ``pages`` (the demo page,
the widget, the host console, static files). ``errors`` holds ``ApiError`` and the handlers
that render every error as ``{"error": {"code", "message"}}``; ``access`` the admin key and the
translate endpoint's access rules."""
