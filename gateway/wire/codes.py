"""The names and numbers of wire protocol v1 (docs/protocol.md): subprotocols, close codes and
the error codes carried by ``error`` frames. Plain constants; nothing here does anything."""

from __future__ import annotations

PROTOCOL_VERSION = 1  # the ``protocol`` field of ``welcome``

SUBPROTOCOL_MSGPACK = "babelcast.v1.msgpack"
SUBPROTOCOL_JSON = "babelcast.v1.json"

# The reactions a `react` frame may name; a room accepts these or fewer (its settings).
REACTIONS = ("heart", "fire", "laugh", "wow", "clap")
DEFAULT_REACTION = "heart"  # a `react` frame without `reaction`

# Close codes (4000-4999 are ours; see docs/protocol.md).
CLOSE_BAD_HANDSHAKE = 4400  # invalid room, lang, name or since: an error frame precedes it
CLOSE_SLOW_CONSUMER = 4408  # the viewer stopped reading for longer than stall_timeout_s
CLOSE_RATE_LIMITED = 4429  # kept flooding after rate_limited errors
CLOSE_GOING_AWAY = 1001  # server shutting down
CLOSE_POLICY_VIOLATION = 1008  # a refused handshake, on servers that cannot answer with HTTP
CLOSE_SERVICE_RESTART = 1012  # message ids started over (Redis lost its data): reconnect
CLOSE_TRY_AGAIN_LATER = 1013  # the shared backend (Redis) is unreachable

# Error codes carried by `error` frames.
INVALID_FRAME = "invalid_frame"
FRAME_TOO_LARGE = "frame_too_large"
UNKNOWN_TYPE = "unknown_type"
INVALID_FIELD = "invalid_field"
EMPTY_TEXT = "empty_text"
TEXT_TOO_LONG = "text_too_long"
INVALID_LANG = "invalid_lang"
FORBIDDEN = "forbidden"
RATE_LIMITED = "rate_limited"
INVALID_ROOM = "invalid_room"
INVALID_NAME = "invalid_name"
INVALID_SINCE = "invalid_since"
INTERNAL_ERROR = "internal_error"
UNAVAILABLE = "unavailable"
NOT_FOUND = "not_found"
MUTED = "muted"
BLOCKED = "blocked"  # moderation (docs/moderation.md): the blocklist caught the comment
SLOW_MODE = "slow_mode"  # the room's slow mode: the frame carries retry_after_s
ROOM_BUSY = "room_busy"  # the room's comment rate cap shed the comment
UNKNOWN_REACTION = "unknown_reaction"  # not one of the room's reactions (or they are off)
ALREADY_VOTED = "already_voted"  # a user votes a question once
NOT_A_QUESTION = "not_a_question"  # votes go to comments flagged `question` only
