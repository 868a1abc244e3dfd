"""Checkpoints beside the pipeline (sanitize/erase/overwrite/background.py): one at a time, their
outcome and their error handed back to the thread that collects them."""

from __future__ import annotations

import threading

import pytest

from sanitize.erase.overwrite.background import Background


def test_a_checkpoint_runs_in_another_thread_and_its_then_runs_in_the_collector() -> None:
    pending = Background("checkpoint-test")
    release = threading.Event()
    where: dict[str, str] = {}

    def work() -> None:
        where["work"] = threading.current_thread().name
        release.wait(5)

    pending.start(work, lambda: where.setdefault("then", threading.current_thread().name))
    assert pending.busy()
    pending.collect()  # still running: nothing happens, the caller goes on
    assert "then" not in where and pending.busy()
    with pytest.raises(RuntimeError):
        pending.start(work)  # one at a time
    release.set()
    pending.collect(wait=True)
    assert where == {"work": "checkpoint-test", "then": threading.current_thread().name}
    assert not pending.busy()


def test_a_failed_checkpoint_raises_its_own_error_in_the_collector_and_skips_then() -> None:
    pending = Background("checkpoint-test")
    thens: list[int] = []

    def work() -> None:
        raise OSError(28, "No space left on device")

    pending.start(work, lambda: thens.append(1))
    with pytest.raises(OSError, match="No space left"):
        pending.collect(wait=True)
    assert thens == [] and not pending.busy()


def test_abandon_waits_for_the_running_checkpoint_and_drops_its_outcome() -> None:
    pending = Background("checkpoint-test")
    done = threading.Event()

    def work() -> None:
        done.set()
        raise OSError(5, "flush failed")

    pending.start(work)
    pending.abandon()
    assert done.is_set() and not pending.busy()
    pending.collect(wait=True)  # nothing left to raise
