from babelcast.gateway.chat.moderation_wait import ModerationWait


def test_comments_stop_waiting_once_a_translation_is_late_and_wait_again_when_one_is_not() -> None:
    wait = ModerationWait(1.0)
    assert wait.budget() == 1.0
    wait.finished(0.2, translated=False)  # failed at once (no route): no reason to stop
    assert wait.budget() == 1.0
    wait.missed()  # a comment waited 1 s for nothing
    assert wait.budget() == 0.0 and wait.budget() == 0.0 and wait.skipped == 2
    wait.finished(3.0, translated=True)  # the hung one came back, late
    assert wait.budget() == 0.0
    wait.finished(0.1, translated=True)  # one in time: the translator is back
    assert wait.budget() == 1.0 and wait.skipped == 3
