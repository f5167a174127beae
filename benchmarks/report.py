"""Turns a benchmark record into a table, plots and the results section of docs/benchmarks.md."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

from benchmarks.harness import ROOT

RESULTS = ROOT / "benchmarks" / "results"
DOC = ROOT / "docs" / "benchmarks.md"
AIMS = {"vs_celery": 1.5, "vs_arq": 1.0, "e2e_rate": 200, "e2e_p99_ms": 100.0}
# The end-to-end stages, in the order a report goes through them (see benchmarks/e2e.py).
STAGES = ("to_saved", "saved_to_queued", "queued_to_started", "started_to_done")


def _fmt(value: float | None, digits: int = 0) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:,.{digits}f}"


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join("---:" if i else "---" for i in range(len(header))) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def ratios(workers: dict[str, Any]) -> dict[int, dict[str, float]]:
    """ours/Celery and ours/arq at each process count measured for all three."""
    median = workers["median"]
    out = {}
    for key in median:
        contender, processes = key.split(":")
        if contender != "celery":
            continue
        p = int(processes)
        ours, celery, arq = median.get(f"ours:{p}"), median[key], median.get(f"arq:{p}")
        if ours and celery and arq:
            out[p] = {"vs_celery": ours / celery, "vs_arq": ours / arq}
    return out


def aims(record: dict[str, Any]) -> list[str]:
    """One line per aim: what was asked, what was measured, met or missed."""
    lines = []
    sections = record["sections"]
    if "workers" in sections:
        for p, r in sorted(ratios(sections["workers"]).items()):
            for key, name in (("vs_celery", "Celery"), ("vs_arq", "arq")):
                verdict = "met" if r[key] >= AIMS[key] else "missed"
                lines.append(f"- {p} process(es): ours / {name} = {r[key]:.2f} "
                             f"(aim ≥ {AIMS[key]:.1f}): **{verdict}**")
    if "e2e" in sections:
        for row in sections["e2e"]["rows"]:
            if row["rate"] == AIMS["e2e_rate"]:
                p99 = row["submit_to_done"]["p99_ms"]
                verdict = "met" if p99 < AIMS["e2e_p99_ms"] else "missed"
                lines.append(f"- end-to-end p99 at {row['rate']} reports/s = {p99:.1f} ms "
                             f"(aim < {AIMS['e2e_p99_ms']:.0f} ms): **{verdict}**")
    return lines


def markdown(record: dict[str, Any], plots: dict[str, str]) -> str:
    """The results as Markdown: the context, one table per section, the aims, the plots."""
    s = record["sections"]
    m = record["meta"]
    machine = m["machine"]
    servers = ", ".join(f"{k} {v}" for k, v in m["servers"].items())
    out = [
        f"Measured {m['date']} on {machine['cpu']}, {machine['cores']} cores, "
        f"{machine['memory_gib']} GiB, {machine['os']}, Python {machine['python']}; "
        f"commit `{m['commit']}`.",
        f"Servers: {servers}. Contenders: "
        + ", ".join(f"{k} {v}" for k, v in m.get("contenders", {}).items()) + ".",
        f"Load average at start {m['load_at_start']['load_average']}, at end "
        f"{m.get('load_at_end', {}).get('load_average', '-')} (1, 5, 15 min; "
        f"{machine['cores']} cores).",
        f"Command: `omniflow run --isolated -- {m['command']}` "
        f"(mode **{record['mode']}**, log level {record['log_level']}).",
        "",
    ]
    if "gateway" in s:
        g = s["gateway"]
        out += [f"**Gateway submit** (closed loop, {g['requests']:,} requests per row after "
                f"{g['warmup']:,} warm-up):", ""]
        out.append(_table(
            ["concurrency", "submits/s", "p50 ms", "p99 ms", "max ms", "non-202"],
            [[str(r["concurrency"]), _fmt(r["submits_per_s"]), _fmt(r["p50_ms"], 1),
              _fmt(r["p99_ms"], 1), _fmt(r["max_ms"], 1),
              str(sum(n for code, n in r["statuses"].items() if str(code) != "202"))]
             for r in g["rows"]]))
        out.append("")
    if "workers" in s:
        w = s["workers"]
        med = w["median"]
        counts = sorted({int(k.split(":")[1]) for k in med})
        out += [f"**Worker throughput**, zero-work jobs, reports/s (median of {w['repeats']} "
                f"run(s) of {w['jobs_per_run']:,} jobs; {w['concurrency_per_process']} jobs in "
                "flight per process for every contender):", ""]
        rows = []
        for p in counts:
            ours, celery, arq = med.get(f"ours:{p}"), med.get(f"celery:{p}"), med.get(f"arq:{p}")
            rows.append([str(p), _fmt(ours), _fmt(celery), _fmt(arq),
                         _fmt(ours / celery, 2) if ours and celery else "-",
                         _fmt(ours / arq, 2) if ours and arq else "-"])
        out.append(_table(["processes", "ours", "Celery", "arq", "ours/Celery", "ours/arq"],
                          rows))
        c = w["ceiling"]
        best = max(v for k, v in med.items() if k.startswith("ours:"))
        out += ["", f"Broker ceiling (one client, pipelined batches of {c['batch']}): XADD "
                f"{_fmt(c['xadd_per_s'])}/s, XREADGROUP + XACK {_fmt(c['read_ack_per_s'])}/s, "
                f"the whole cycle {_fmt(c['cycle_per_s'])}/s. Our best worker figure "
                f"({_fmt(best)}/s) is {100 * best / c['cycle_per_s']:.1f} % of the cycle.", ""]
    if "e2e" in s:
        e = s["e2e"]
        out += [f"**End to end**, submit → DONE, open-loop arrivals, {e['workers']} workers, "
                "zero-work jobs:", ""]
        out.append(_table(
            ["rate/s", "seconds", "accepted", "DONE", "p50 ms", "p90 ms", "p99 ms", "max ms",
             "HTTP p99 ms"],
            [[str(r["rate"]), _fmt(r["seconds"]), str(r["accepted"]), str(r["done"]),
              _fmt(r["submit_to_done"]["p50_ms"], 1), _fmt(r["submit_to_done"]["p90_ms"], 1),
              _fmt(r["submit_to_done"]["p99_ms"], 1), _fmt(r["submit_to_done"]["max_ms"], 1),
              _fmt(r["http"]["p99_ms"], 1)] for r in e["rows"]]))
        out.append("")
        if all(set(STAGES) <= set(r.get("stages", {})) for r in e["rows"]):
            out += ["Where the time goes (p50 / p99 ms): *saved* = scheduled send → row in "
                    "PostgreSQL (HTTP and the gateway); *relayed* = saved → on the broker (the "
                    "outbox relay); *picked up* = on the broker → a worker starts; *worked* = "
                    "start → DONE.", ""]
            out.append(_table(
                ["rate/s", "saved", "relayed", "picked up", "worked"],
                [[str(r["rate"])] + [
                    f"{_fmt(r['stages'][k]['p50_ms'], 1)} / {_fmt(r['stages'][k]['p99_ms'], 1)}"
                    for k in STAGES]
                 for r in e["rows"]]))
            out.append("")
    if "logstore" in s:
        out += ["**Log store ingest** (embedded MongoDB, one client):", ""]
        out.append(_table(["batch size", "documents", "docs/s"],
                          [[str(r["batch"]), _fmt(r["documents"]), _fmt(r["docs_per_s"])]
                           for r in s["logstore"]["rows"]]))
        out.append("")
    if "monitor" in s:
        mo = s["monitor"]
        out += ["**Live monitor** (admin poller at 1 Hz):", ""]
        out.append(_table(
            ["polled for s", "polls", "poller CPU s/min", "gateway CPU s/min (above idle)",
             "poll p50 ms", "poll p99 ms"],
            [[_fmt(mo["seconds"]), str(mo["polls"]), _fmt(mo["poller_cpu_s_per_min"], 2),
              _fmt(mo["gateway_cpu_s_per_min"], 2), _fmt(mo["poll_p50_ms"], 1),
              _fmt(mo["poll_p99_ms"], 1)]]))
        out.append("")
    lines = aims(record)
    if lines:
        out += ["**Aims:**", "", *lines, ""]
    if plots:
        out += ["Plots: " + ", ".join(f"[{name}](../benchmarks/results/{Path(p).name})"
                                     for name, p in plots.items()) + ".", ""]
        out += [f"![{name}](../benchmarks/results/{Path(p).name})" for name, p in plots.items()]
    return "\n".join(out).rstrip() + "\n"


def save(record: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{record['mode']}.json"
    path.write_text(json.dumps(record, indent=1, default=str) + "\n")
    return path


def update_doc(mode: str, text: str) -> None:
    """Replaces the block between the ``bench:MODE`` markers in docs/benchmarks.md."""
    start, end = f"<!-- bench:{mode}:start -->", f"<!-- bench:{mode}:end -->"
    doc = DOC.read_text() if DOC.exists() else "# Benchmarks\n"
    block = f"{start}\n{text}{end}"
    if start in doc and end in doc:
        doc = re.sub(re.escape(start) + r".*?" + re.escape(end), lambda _m: block, doc,
                     flags=re.S)
    else:
        doc = doc.rstrip() + f"\n\n## Results ({mode})\n\n{block}\n"
    DOC.write_text(doc)


def plot(record: dict[str, Any]) -> dict[str, str]:
    """Draws one PNG per section into benchmarks/results/; empty if matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return {}
    s, mode, made = record["sections"], record["mode"], {}

    def finish(fig, name: str, title: str) -> None:  # noqa: ANN001
        fig.suptitle(f"{title} ({mode}, {record['meta']['date']})", fontsize=10)
        fig.tight_layout()
        path = RESULTS / f"{mode}-{name}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        made[name] = str(path)

    if "gateway" in s:
        rows = s["gateway"]["rows"]
        fig, ax = plt.subplots(figsize=(6, 3.6))
        xs = [str(r["concurrency"]) for r in rows]
        ax.bar(xs, [r["submits_per_s"] for r in rows], color="#4c72b0")
        ax.set_xlabel("concurrent connections")
        ax.set_ylabel("submits/s")
        ax2 = ax.twinx()
        ax2.plot(xs, [r["p50_ms"] for r in rows], "o-", color="#dd8452", label="p50")
        ax2.plot(xs, [r["p99_ms"] for r in rows], "s--", color="#c44e52", label="p99")
        ax2.set_ylabel("latency ms")
        ax2.legend(loc="upper left")
        finish(fig, "gateway", "Gateway submit")
    if "workers" in s:
        med = s["workers"]["median"]
        counts = sorted({int(k.split(":")[1]) for k in med})
        fig, ax = plt.subplots(figsize=(6.4, 3.8))
        width = 0.27
        for i, (name, color) in enumerate((("ours", "#4c72b0"), ("celery", "#55a868"),
                                           ("arq", "#c44e52"))):
            values = [med.get(f"{name}:{p}", 0) for p in counts]
            ax.bar([x + (i - 1) * width for x in range(len(counts))], values, width,
                   label=name, color=color)
        ax.set_xticks(range(len(counts)), [str(p) for p in counts])
        ax.set_xlabel("worker processes")
        ax.set_ylabel("reports/s")
        ax.legend()
        finish(fig, "workers", "Worker throughput, zero-work jobs")
    if "e2e" in s:
        rows = s["e2e"]["rows"]
        fig, ax = plt.subplots(figsize=(6, 3.6))
        for r in rows:
            samples = r["samples_ms"]
            if samples:
                ax.plot(samples, [(i + 1) / len(samples) for i in range(len(samples))],
                        label=f"{r['rate']}/s")
        ax.axvline(AIMS["e2e_p99_ms"], color="grey", ls=":", label="100 ms")
        ax.set_xscale("log")
        ax.set_xlabel("submit → DONE, ms (log)")
        ax.set_ylabel("fraction of reports")
        ax.legend()
        finish(fig, "e2e", "End-to-end latency, cumulative")
    if "logstore" in s:
        rows = s["logstore"]["rows"]
        fig, ax = plt.subplots(figsize=(6, 3.4))
        ax.bar([str(r["batch"]) for r in rows], [r["docs_per_s"] for r in rows],
               color="#8172b3")
        ax.set_xlabel("documents per insert")
        ax.set_ylabel("docs/s")
        finish(fig, "logstore", "Log store ingest")
    return made
