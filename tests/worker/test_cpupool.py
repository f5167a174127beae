"""The CPU pool outlives a dead process."""

from __future__ import annotations

import functools
import os
from pathlib import Path

from omniflow.worker.cpupool import CpuPool


def die_once(flag: str) -> int:
    """Kills its process the first time it runs, as an out-of-memory kill would."""
    if not os.path.exists(flag):
        Path(flag).touch()
        os._exit(1)
    return os.getpid()


async def test_a_dead_pool_process_is_replaced_and_the_step_still_runs(tmp_path):
    pool = CpuPool(1)
    try:
        pid = await pool.run(functools.partial(die_once, str(tmp_path / "died")))
        assert pid != os.getpid()
        assert await pool.run(functools.partial(die_once, str(tmp_path / "died"))) == pid
    finally:
        pool.shutdown()


async def test_size_zero_runs_in_a_thread():
    pool = CpuPool(0)
    assert await pool.run(os.getpid) == os.getpid()
