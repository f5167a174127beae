"""``python -m benchmarks``: runs every section, prints the table, writes plots and the docs."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from typing import Any

import uvloop

from benchmarks import e2e, gateway, logstore, machine, monitor, report, workers
from benchmarks.contenders import venvs
from benchmarks.harness import ROOT, BenchError, Harness

SECTIONS = {
    "logstore": logstore.run_all,
    "monitor": monitor.run_all,
    "gateway": gateway.run_all,
    "workers": workers.run_all,
    "e2e": e2e.run_all,
}


def echo(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    h = Harness.from_env(args.log_level)
    meta = await machine.describe(ROOT, h.settings.database_url, h.settings.redis_url)
    record: dict[str, Any] = {"mode": "quick" if args.quick else "full",
                              "log_level": args.log_level, "meta": meta, "sections": {}}
    wanted = args.only.split(",") if args.only else list(SECTIONS)
    unknown = set(wanted) - set(SECTIONS)
    if unknown:
        raise BenchError(f"unknown section(s): {', '.join(sorted(unknown))}")
    echo("pausing the stack's gateway, relay and workers for the benchmark ...")
    h.pause_stack_services()
    try:
        for name in wanted:
            echo(f"[{name}]")
            began = time.monotonic()
            record["sections"][name] = await SECTIONS[name](h, args.quick, echo)
            echo(f"  ({time.monotonic() - began:.0f} s)")
    finally:
        echo("restoring the stack's services ...")
        await asyncio.to_thread(h.restore)
    meta["load_at_end"] = machine.load()
    if "workers" in wanted:
        meta["contenders"] = {
            **venvs.versions(venvs.ensure("celery"), ("celery", "kombu")),
            **{f"{k} (arq env)" if k == "redis" else k: v for k, v in venvs.versions(
                venvs.ensure("arq"), ("arq", "redis")).items()},
        }
    return record


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true",
                        help="fewer requests and shorter runs (about 5 minutes)")
    parser.add_argument("--only", default="",
                        help=f"comma-separated sections: {','.join(SECTIONS)}")
    parser.add_argument("--log-level", default="WARNING",
                        help="log level of every process the benchmark starts (WARNING)")
    parser.add_argument("--no-docs", action="store_true",
                        help="do not update docs/benchmarks.md")
    args = parser.parse_args(argv)
    try:
        record = uvloop.run(run(args))
    except BenchError as exc:
        echo(f"benchmarks: {exc}")
        return 1
    plots = report.plot(record)
    record["plots"] = {k: str(v) for k, v in plots.items()}
    text = report.markdown(record, plots)
    path = report.save(record) if not args.only else None
    print(text)
    if path:
        echo(f"results written to {path}")
    if plots:
        echo("plots: " + ", ".join(plots.values()))
    if not args.no_docs and not args.only:
        report.update_doc(record["mode"], text)
        echo(f"updated {report.DOC}")
    return 0
