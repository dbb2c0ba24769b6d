"""Plain data that travels between the gateway's parts and over the bus."""

from __future__ import annotations

from dataclasses import dataclass, field

from babelcast.translation.engine import Translation


@dataclass
class ChatMessage:
    """A comment as the room keeps it: the original plus every translation made so far."""

    id: int
    room: str
    user: str
    user_id: str
    text: str
    src_lang: str
    ts: float
    translations: dict[str, Translation] = field(default_factory=dict)
    glossary_hits: tuple[str, ...] = ()  # glossary terms in the text, one per occurrence
    question: bool = False  # the question detector's verdict at publish time
    # Degraded mode (several nodes): a negative id is provisional, shown only on its node while
    # Redis is unreachable; the published message then names that number here (0: none).
    replaces: int = 0
    # Languages the publishing node was still translating into when it published: other nodes
    # wait for those translations instead of making them again (translated once per cluster).
    owed: tuple[str, ...] = ()
    # The id sequence the id belongs to (the bus' epoch when it was published): ids are never
    # reused under one epoch, so (epoch, id) names this message and no other.
    epoch: str = ""
    # Who posted it through the server API ("shop", "host" or "system"); "" for a viewer's
    # comment. Comment frames carry it as ``from``.
    origin: str = ""


@dataclass(frozen=True)
class CommentPublished:
    """A new comment entered the room (with the translations ready at that moment)."""

    message: ChatMessage


@dataclass(frozen=True)
class TranslationPublished:
    """A translation of an earlier comment is ready (it was delivered ``pending`` before)."""

    room: str
    message_id: int
    translation: Translation
    epoch: str = ""  # of the message it translates: it attaches to no other


@dataclass(frozen=True)
class MessageDeleted:
    """A host deleted a message: it has left history; viewers remove it."""

    room: str
    message_id: int


@dataclass(frozen=True)
class PinChanged:
    """A host pinned a message (with its translations so far), or unpinned (None)."""

    room: str
    message: ChatMessage | None


@dataclass(frozen=True)
class EpochChanged:
    """The room's ids started over under a new epoch (the shared state was lost): ids this
    node's viewers hold name nothing any more, so they must reload the room."""

    room: str
    epoch: str


@dataclass(frozen=True)
class ReactionsCounted:
    """Reactions counted in a room over one interval: on the bus, one node's partial count;
    summed by each node before its viewers see it. ``counts``: reactions to the stream;
    ``comments``: reactions to comments, by message id; ``votes``: the newest vote count of
    each question voted on in the interval (a total, not a difference)."""

    room: str
    counts: dict[str, int]
    comments: dict[int, dict[str, int]] = field(default_factory=dict)
    votes: dict[int, int] = field(default_factory=dict)


RoomEvent = (CommentPublished | TranslationPublished | MessageDeleted | PinChanged | EpochChanged
             | ReactionsCounted)
