"""The question flag and the insights on RedisBus (several nodes): stored with the message,
read back by another node, and messages stored before the flag existed still load."""

from __future__ import annotations

import asyncio
import time

import msgpack

from babelcast.gateway.bus.base import CommentDraft
from babelcast.gateway.bus.redis import RedisBus
from babelcast.gateway.chat.insights import InsightsWindow


def test_question_flag_round_trips_through_redis(redis_url: str) -> None:
    async def run() -> None:
        writer, reader = RedisBus(redis_url), RedisBus(redis_url)
        await writer.start()
        await reader.start()
        try:
            for text, question in (("tem frete?", True), ("amei 😍", False)):
                await writer.publish_comment(CommentDraft(
                    room="r", user="Ana", user_id="u-1", text=text, src_lang="pt",
                    translations={}, glossary_hits=("Glow Kit",), question=question))
            # A message stored by a node from before the flag: six fields, no question.
            old = msgpack.packb(["Bia", "u-2", "quanto custa", "pt", time.time(), []])
            await writer._redis.hset(writer._k("r", "msgs"), "99", old)
            await writer._redis.zadd(writer._k("r", "ids"), {"99": 99})
            messages, _ = await reader.history("r")
            assert [(m.text, m.question) for m in messages] == [
                ("tem frete?", True), ("amei 😍", False), ("quanto custa", False)]
            got = InsightsWindow(300).summarize("r", messages, {})
            assert got.questions == 1 and got.top_terms == [("Glow Kit", 2)]
        finally:
            await writer.close()
            await reader.close()

    asyncio.run(run())
