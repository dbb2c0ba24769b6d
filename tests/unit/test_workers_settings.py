"""``--workers``: its values, and the supervisor's restart backoff."""

from __future__ import annotations

import os

import pytest

from babelcast.gateway.settings import Settings, SettingsError
from babelcast.gateway.workers import FIRST_BACKOFF_S, MAX_BACKOFF_S, Child, child_env


def test_workers_is_a_count_or_auto() -> None:
    assert Settings().worker_count == 1
    assert Settings(workers="3").worker_count == 3
    assert Settings(workers="auto").worker_count == (os.cpu_count() or 1)
    for bad in ("0", "-1", "two", ""):
        with pytest.raises(SettingsError, match="workers must be a whole number >= 1 or auto"):
            Settings(workers=bad)


def test_several_workers_need_role_all() -> None:
    with pytest.raises(SettingsError, match="leave role as all"):
        Settings(workers="2", role="gateway", redis_url="redis://127.0.0.1:6379/0")


def test_children_get_every_setting_as_a_variable() -> None:
    env = child_env(Settings(admin_key="k" * 20, port=9001), {"PATH": "/bin"})
    assert env["BABELCAST_ADMIN_KEY"] == "k" * 20 and env["BABELCAST_PORT"] == "9001"
    assert env["PATH"] == "/bin"
    assert Settings.from_env(env) == Settings(admin_key="k" * 20, port=9001)


class FakeProc:
    pid, returncode = 4242, -9


def test_a_child_that_keeps_dying_waits_longer_each_time() -> None:
    child = Child("worker 1", [], {}, proc=FakeProc())  # type: ignore[arg-type]
    waits = []
    for _ in range(8):
        child.started_at = 100.0
        child.died(now=101.0)
        waits.append(child.backoff_s)
    assert waits[0] == FIRST_BACKOFF_S and waits == sorted(waits) and waits[-1] == MAX_BACKOFF_S
    assert child.quick_deaths == 8
    child.started_at = 0.0
    child.died(now=1000.0)  # lived long: back to a short wait
    assert child.quick_deaths == 0 and child.backoff_s == FIRST_BACKOFF_S
