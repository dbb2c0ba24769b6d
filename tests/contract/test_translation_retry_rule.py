"""Both buses: a translated translation replaces an untranslated one (a retry after a
failure), once; nothing replaces a translated one, and an untranslated one never replaces
anything."""

from __future__ import annotations

import asyncio

import pytest

from babelcast.gateway.bus.base import Bus, CommentDraft
from babelcast.gateway.bus.memory import MemoryBus
from babelcast.gateway.bus.redis import RedisBus
from babelcast.translation import Translation


@pytest.mark.parametrize("backend", ["memory", "redis"])
def test_a_translation_replaces_only_a_failed_one(backend: str,
                                                  request: pytest.FixtureRequest) -> None:
    async def run() -> None:
        bus: Bus = (RedisBus(request.getfixturevalue("redis_url")) if backend == "redis"
                    else MemoryBus())
        await bus.start()
        try:
            msg = await bus.publish_comment(CommentDraft(
                room="r", user="u", user_id="u-1", text="Is it red?", src_lang="en",
                translations={}))
            failed = Translation("pt", "Is it red?", False, "engine_error")
            assert await bus.publish_translation("r", msg.id, failed) is True
            assert await bus.publish_translation("r", msg.id, failed) is False
            done = Translation("pt", "É vermelho?", True)
            assert await bus.publish_translation("r", msg.id, done) is True  # the retry
            assert await bus.translation("r", msg.id, "pt") == done
            assert await bus.publish_translation("r", msg.id, failed) is False
            other = Translation("pt", "Ele é vermelho?", True)
            assert await bus.publish_translation("r", msg.id, other) is False
            assert await bus.translation("r", msg.id, "pt") == done
            [stored] = (await bus.history("r"))[0]
            assert stored.translations["pt"] == done
        finally:
            await bus.close()

    asyncio.run(run())
