"""``acknowledged``: a delivery's wait for the batches holding its records, which other
deliveries share, so neither its timeout nor its cancellation may touch them."""

import asyncio

import pytest

from pipeline.publish import acknowledged


async def test_returns_once_every_future_is_done() -> None:
    loop = asyncio.get_running_loop()
    first, second = loop.create_future(), loop.create_future()
    waiting = asyncio.ensure_future(acknowledged({first, second}, loop.time() + 5))
    first.set_result(None)
    await asyncio.sleep(0)
    assert not waiting.done()
    second.set_exception(ConnectionError("the batch failed"))  # failures are read by the caller
    await waiting
    assert second.exception() is not None


async def test_times_out_at_the_deadline_and_leaves_the_shared_futures_alone() -> None:
    loop = asyncio.get_running_loop()
    shared = loop.create_future()
    started = loop.time()
    with pytest.raises(TimeoutError):
        await acknowledged([shared], started + 0.05)
    assert loop.time() - started >= 0.05
    assert not shared.done()  # not cancelled: another delivery may still await it
    shared.set_result(None)


async def test_a_cancelled_delivery_does_not_cancel_the_batches_it_waited_for() -> None:
    loop = asyncio.get_running_loop()
    shared = loop.create_future()
    waiting = asyncio.ensure_future(acknowledged([shared], loop.time() + 5))
    await asyncio.sleep(0)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert not shared.done()
    shared.set_result(None)


async def test_done_futures_need_no_wait() -> None:
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    done.set_result(None)
    await acknowledged([done], loop.time() - 1)  # already past the deadline: nothing to wait for
