# %% [markdown]
# # Lesson 09 · Scaling out: more workers, more throughput?
#
# **Goals.** By the end of this notebook you will be able to:
#
# 1. change how many workers consume the jobs stream, while the system runs,
# 2. measure **throughput** (reports finished per second) from the reports' own timestamps,
# 3. draw the throughput chart for 1, 2 and 4 workers,
# 4. explain why adding workers helps up to a point, and find that point on this machine.
#
# Lesson text: `lessons/09-scaling-out.md`.
#
# ⚠️ Like lesson 08, this notebook stops and starts workers through the `omniflow` launcher
# (embedded stack only), and its last cell puts everything back.

# %%
from omniflow import labkit

labkit.check_stack()
stack = labkit.stack()
me = labkit.new_learner()

# %% [markdown]
# ## 1. A batch, and how to measure it
#
# One measurement: a short warm-up (a worker that has just started pays once to start its CPU
# process, which would distort the first numbers), then a batch of `BATCH` reports submitted at
# once; we wait for all of them and read their timestamps. Throughput is the number of reports divided by the time from the first
# submit to the last finish. The batch is the same every time (same types, same seeds), so
# the only thing that changes between measurements is the number of workers.

# %%
import datetime as dt

BATCH = 12


def at(report, field):
    return dt.datetime.fromisoformat(report[field])


def run_batch():
    """Submits BATCH reports, waits for all, returns them finished."""
    submitted = [me.submit("user_activity", days=7, top=3, seed=n) for n in range(BATCH)]
    return [me.wait_for_status(r["id"], "DONE", timeout=120) for r in submitted]


def warm_up():
    """A few small jobs first: a worker that just started pays once to start its CPU process."""
    warm = [me.submit("user_activity", days=1, top=1, seed=100 + n) for n in range(4)]
    for r in warm:
        me.wait_for_status(r["id"], "DONE", timeout=60)


def measure(reports):
    began = min(at(r, "created_at") for r in reports)
    ended = max(at(r, "finished_at") for r in reports)
    return {
        "seconds": (ended - began).total_seconds(),
        "per_s": len(reports) / (ended - began).total_seconds(),
        "workers": sorted({r["worker"] for r in reports}),
        # For the chart: seconds from the first submit to each finish, in order.
        "finishes": sorted((at(r, "finished_at") - began).total_seconds() for r in reports),
    }


# %% [markdown]
# ## 2. One worker
#
# We stop `worker-2`. The consumer group does not care: whoever reads, gets the next entries.

# %%
stack.stop("worker-2")
labkit.wait_until(lambda: "worker-2" not in labkit.live_workers(), what="worker-2 to leave")
print("live workers:", labkit.live_workers())

warm_up()
one = measure(run_batch())
print("all done, by one worker:", one["workers"] == ["worker-1"])

# %% [markdown]
# ## 3. Two workers
#
# Start `worker-2` again. New entries are now shared between two consumers.

# %%
stack.start("worker-2")
labkit.wait_until(lambda: "worker-2" in labkit.live_workers(), what="worker-2's heartbeat")
print("live workers:", labkit.live_workers())

warm_up()
two = measure(run_batch())
print("shared between the two:", two["workers"] == ["worker-1", "worker-2"])

# %% [markdown]
# ## 4. Four workers
#
# Two more workers of our own join the same group — the same program, started by this notebook.
# No configuration anywhere says how many workers there are: a worker joins by reading.

# %%
extra = [labkit.start_lab_worker(name, wait=False) for name in ("lab-3", "lab-4")]
labkit.wait_until(lambda: {"lab-3", "lab-4"} <= set(labkit.live_workers()),
                  what="the new workers' heartbeats")
print("live workers:", labkit.live_workers())

warm_up()
four = measure(run_batch())
print("more than one took part:", len(four["workers"]) > 1)

# %% [markdown]
# ## 5. The numbers
#
# These depend on your machine and on what else it is doing, so the tests do not compare them.

# %%
# NBVAL_IGNORE_OUTPUT
import os

runs = {1: one, 2: two, 4: four}
labkit.table([
    {"workers": n, "seconds": round(m["seconds"], 2), "reports/s": round(m["per_s"], 2),
     "speed-up": round(m["per_s"] / one["per_s"], 2)}
    for n, m in runs.items()
])
print("workers that took part with four:", four["workers"])
print("CPU cores on this machine:", os.cpu_count())
print("load average (1, 5, 15 min):", [round(x, 1) for x in os.getloadavg()])

# %% [markdown]
# ## 6. The throughput chart
#
# Each line counts the reports finished so far, against the seconds since the batch was
# submitted. A steeper line is a higher throughput. The chart is drawn by Bokeh in your browser;
# like all charts in the lab, its output is not kept in the saved notebook.

# %%
# lab: strip-output
# NBVAL_IGNORE_OUTPUT
from bokeh.io import output_notebook, show
from bokeh.plotting import figure
from bokeh.resources import INLINE

output_notebook(INLINE, hide_banner=True)

# %%
# lab: strip-output
# NBVAL_IGNORE_OUTPUT
chart = figure(title=f"{BATCH} reports: finished over time", width=640, height=320,
               x_axis_label="seconds since the batch was submitted",
               y_axis_label="reports finished")
for (n, m), colour in zip(runs.items(), ("#d95f02", "#1b9e77", "#7570b3"), strict=True):
    chart.step(m["finishes"], list(range(1, BATCH + 1)), mode="after", line_width=2,
               color=colour, legend_label=f"{n} worker{'s' if n > 1 else ''}")
chart.legend.location = "bottom_right"
show(chart)

# %% [markdown]
# ## 7. Where is the bottleneck?
#
# First, look at the load average printed above. If it is well above the number of cores,
# other programs compete for the CPU and your numbers say more about them than about the
# workers: measure again on a quiet machine.
#
# Going from one worker to two should help: each job *waits* most of its time (its `io`
# steps), and a second worker brings a second process for the `cpu` step (`OMNIFLOW_CPU_POOL_SIZE`
# is 1 per worker). Going to four helps less, or not at all, once every CPU core is busy: the
# `cpu` steps queue for the cores, whoever reads the jobs. Adding consumers scales the *reading*;
# it cannot add cores. The next bottleneck after the cores would be the databases.
#
# ## 8. Exercise: throughput of a batch
#
# Write `throughput(reports)`: the reports finished per second, counted from the first
# `created_at` to the last `finished_at` of the batch.

# %%
# ✏️ YOUR ANSWER
def throughput(reports):
    first = min(dt.datetime.fromisoformat(r["created_at"]) for r in reports)
    last = max(dt.datetime.fromisoformat(r["finished_at"]) for r in reports)
    return len(reports) / (last - first).total_seconds()


# %% [markdown]
# ### Check your answer
#
# The check builds a tiny made-up batch whose throughput is known: 4 reports, from 10:00:00 to
# 10:00:02, so 2 reports per second.

# %%
labkit.answered("throughput")
made_up = [
    {"created_at": "2026-01-01T10:00:00+00:00", "finished_at": "2026-01-01T10:00:01+00:00"},
    {"created_at": "2026-01-01T10:00:00.500000+00:00", "finished_at": "2026-01-01T10:00:02+00:00"},
    {"created_at": "2026-01-01T10:00:01+00:00", "finished_at": "2026-01-01T10:00:01.500000+00:00"},
    {"created_at": "2026-01-01T10:00:01+00:00", "finished_at": "2026-01-01T10:00:01.800000+00:00"},
]
assert abs(throughput(made_up) - 2.0) < 1e-9, f"expected 2.0, got {throughput(made_up)}"
labkit.passed("Throughput: finished work per unit of wall-clock time.")

# %% [markdown]
# ## 9. Clean up
#
# We stop our two extra workers and make sure the stack's own workers all run.

# %%
from omniflow import signals

started_again = labkit.restore_stack()
r = labkit.redis()
cfg = labkit.settings()
for name in ("lab-3", "lab-4"):
    r.xgroup_delconsumer(cfg.jobs_stream, cfg.consumer_group, name)
    r.srem(signals.WORKERS_KEY, name)
r.close()
me.close()
labkit.check_stack()

# %% [markdown]
# **Next:** lesson 10, the capstone, puts everything together.
