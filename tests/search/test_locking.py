"""One writer per index: waiting, the holder's name, giving up with a clear error."""

from __future__ import annotations

import threading

import pytest

from search.errors import IndexBusy
from search.locking import ReadWriteLock, WriteLock


def test_a_second_writer_is_told_who_holds_the_lock_and_gives_up(tmp_path):
    holder = WriteLock(tmp_path, timeout=5, what="kb ingest")
    waiter = WriteLock(tmp_path, timeout=0.2)
    told = []
    with holder.hold():
        with pytest.raises(IndexBusy, match=r"kb ingest.*gave up after 0.2 s"):
            with waiter.hold(told.append):
                pass
    assert len(told) == 1 and "held by pid" in told[0]
    with waiter.hold():  # free again
        pass


def test_the_lock_is_reentrant_in_a_thread_and_exclusive_across_threads(tmp_path):
    lock = WriteLock(tmp_path, timeout=5)
    order = []
    with lock.hold():
        with lock.hold():
            t = threading.Thread(target=lambda: (lock.hold().__enter__(), order.append("t")))
            t.start()
            t.join(0.2)
            assert order == []  # the other thread waits
            order.append("main")
    t.join(5)
    assert order == ["main", "t"]


def test_read_write_lock_lets_readers_share_and_a_writer_wait():
    rw = ReadWriteLock()
    entered = []
    rw.acquire_read()
    rw.acquire_read()  # readers share
    writer = threading.Thread(target=lambda: rw.write().__enter__() or entered.append("w"))
    writer.start()
    writer.join(0.1)
    assert entered == []
    rw.release_read()
    rw.release_read()
    writer.join(5)
    assert entered == ["w"]
