"""Group commit as pure logic: who shares a batch, and whose error is whose."""

from __future__ import annotations

import asyncio

import pytest

from omniflow.batching import GroupCommit


class Store:
    """A fake store that records each batch it is given and can be told to fail."""

    def __init__(self, *, bad: set[int] = frozenset(), down: bool = False) -> None:
        self.batches: list[list[int]] = []
        self.bad = bad
        self.down = down
        self.gate = asyncio.Event()
        self.gate.set()

    async def write(self, items: list[int]) -> list[int]:
        self.batches.append(list(items))
        await self.gate.wait()
        if self.down:
            raise ConnectionError("store is away")
        if self.bad & set(items):
            raise ValueError(f"cannot store {sorted(self.bad & set(items))}")
        return [item * 10 for item in items]


async def test_a_lone_item_goes_out_at_once_as_a_batch_of_one() -> None:
    store = Store()
    commit = GroupCommit(store.write, max_batch=8)

    assert await commit.submit(1) == 10
    assert store.batches == [[1]]


async def test_items_queued_while_a_batch_is_written_share_the_next_one() -> None:
    store = Store()
    store.gate.clear()
    commit = GroupCommit(store.write, max_batch=3)

    first = asyncio.ensure_future(commit.submit(0))
    await asyncio.sleep(0)  # the first batch [0] is now being written
    rest = [asyncio.ensure_future(commit.submit(n)) for n in range(1, 6)]
    await asyncio.sleep(0)
    store.gate.set()

    assert await asyncio.gather(first, *rest) == [0, 10, 20, 30, 40, 50]
    assert store.batches == [[0], [1, 2, 3], [4, 5]]


async def test_an_items_own_error_reaches_only_its_caller() -> None:
    store = Store(bad={2})
    store.gate.clear()
    commit = GroupCommit(store.write, max_batch=8)

    futures = [asyncio.ensure_future(commit.submit(n)) for n in range(4)]
    await asyncio.sleep(0)
    store.gate.set()
    results = await asyncio.gather(*futures, return_exceptions=True)

    assert results[:2] == [0, 10] and results[3] == 30
    assert isinstance(results[2], ValueError)
    assert store.batches == [[0, 1, 2, 3], [0], [1], [2], [3]]  # the batch was split


async def test_a_transient_error_reaches_every_caller_without_a_split() -> None:
    store = Store(down=True)
    store.gate.clear()
    commit = GroupCommit(store.write, max_batch=8, transient=(ConnectionError,))

    futures = [asyncio.ensure_future(commit.submit(n)) for n in range(3)]
    await asyncio.sleep(0)
    store.gate.set()
    results = await asyncio.gather(*futures, return_exceptions=True)

    assert all(isinstance(r, ConnectionError) for r in results)
    assert store.batches == [[0, 1, 2]]  # never item by item


async def test_parallel_batches_are_bounded() -> None:
    store = Store()
    store.gate.clear()
    commit = GroupCommit(store.write, max_batch=1, parallel=2)

    futures = [asyncio.ensure_future(commit.submit(n)) for n in range(5)]
    await asyncio.sleep(0.01)
    assert len(store.batches) == 2  # two in the store, three still queued
    store.gate.set()
    assert await asyncio.gather(*futures) == [0, 10, 20, 30, 40]


@pytest.mark.parametrize("size", [1, 7])
async def test_a_write_that_returns_the_wrong_number_of_results_is_an_error(size: int) -> None:
    async def short(items: list[int]) -> list[int]:
        return items[:-1]

    commit = GroupCommit(short, max_batch=8)
    with pytest.raises(ValueError):
        await asyncio.gather(*(commit.submit(n) for n in range(size)))
