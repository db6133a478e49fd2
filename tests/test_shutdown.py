"""Stopping never hangs: a shutdown step that swallows its cancellation is cut short and left
behind (asyncio.wait_for would wait for it for ever), and a failing step is logged, not raised."""

from __future__ import annotations

import asyncio
import logging

import pytest

from geo.db.pool import close_within


async def _stubborn(released: asyncio.Event) -> None:
    """A close that ignores cancellation until it is released (a reconnect loop, say)."""
    while not released.is_set():
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            continue


def test_a_step_that_swallows_cancellation_is_cut_short(caplog: pytest.LogCaptureFixture) -> None:
    async def run() -> tuple[bool, bool]:
        released = asyncio.Event()
        step = asyncio.ensure_future(_stubborn(released))
        finished = await close_within(step, "a stubborn step", seconds=0.2)
        still_running = not step.done()
        released.set()
        step.cancel()
        await asyncio.gather(step, return_exceptions=True)
        return finished, still_running

    with caplog.at_level(logging.WARNING):
        finished, still_running = asyncio.run(asyncio.wait_for(run(), 60))
    assert (finished, still_running) == (False, True)
    assert "a stubborn step did not finish" in caplog.text


def test_a_step_that_finishes_or_fails_is_reported(caplog: pytest.LogCaptureFixture) -> None:
    async def fails() -> None:
        raise OSError("connection reset")

    async def run() -> tuple[bool, bool]:
        return (
            await close_within(asyncio.sleep(0), "quick", seconds=5),
            await close_within(fails(), "a failing step", seconds=5),
        )

    with caplog.at_level(logging.WARNING):
        assert asyncio.run(run()) == (True, True)
    assert "a failing step failed" in caplog.text
