# %% [markdown]
# # Lesson 04 · The worker: lifecycle and simulated work
#
# **Goals.** By the end of this notebook you will be able to:
#
# 1. follow a report through `PENDING → PROCESSING → DONE` and read its progress,
# 2. turn the report's timestamps into "waiting" and "working" time,
# 3. explain what the worker simulates for each report type, and why the result is repeatable,
# 4. see one worker run many jobs side by side,
# 5. watch a *guarded* status change refuse to go backwards.
#
# Lesson text: `lessons/04-worker.md`.

# %%
from omniflow import labkit

labkit.check_stack()
me = labkit.new_learner()

# %% [markdown]
# ## 1. The lifecycle, sampled
#
# We submit a sales summary and read the report twenty times a second until it is finished,
# keeping each new `(status, progress)` pair. What you see depends on timing: usually `PENDING`
# first, but a worker can be quicker than our first read, and then the samples start at
# `PROCESSING`. So the tests do not compare the samples, only the facts below them.

# %%
# NBVAL_IGNORE_OUTPUT
import time

report = me.submit("sales_summary", region="west", start_date="2026-01-01",
                   end_date="2026-01-31", seed=11)
samples = []
deadline = time.monotonic() + 30
while time.monotonic() < deadline:
    current = me.report(report["id"])
    pair = (current["status"], current["progress"])
    if not samples or samples[-1] != pair:
        samples.append(pair)
    if current["status"] in ("DONE", "FAILED"):
        break
    time.sleep(0.05)
for status, progress in samples:
    print(f"{status:<11}{progress:>4} %")

# %%
statuses = [status for status, _ in samples]
progresses = [progress for _, progress in samples]
print("ends DONE:", statuses[-1] == "DONE")
print("status only moves forward:",
      statuses == sorted(statuses, key=["PENDING", "PROCESSING", "DONE"].index))
print("progress never goes down:", progresses == sorted(progresses))

# %% [markdown]
# ## 2. Where did the time go?
#
# The report row keeps four timestamps: when the gateway saved it (`created_at`), when the relay
# put its job on the broker (`queued_at`), when a worker started it (`started_at`) and when it
# finished (`finished_at`). Their differences are the three waits of its life.

# %%
import datetime as dt

done = me.wait_for_status(report["id"], "DONE")
moments = {name: dt.datetime.fromisoformat(done[name])
           for name in ("created_at", "queued_at", "started_at", "finished_at")}
print("in order:", list(moments.values()) == sorted(moments.values()))

# %%
# NBVAL_IGNORE_OUTPUT
def ms(a, b):
    return round((moments[b] - moments[a]).total_seconds() * 1000, 1)


print("waiting for the relay: ", ms("created_at", "queued_at"), "ms")
print("waiting for a worker:  ", ms("queued_at", "started_at"), "ms")
print("being worked on:       ", ms("started_at", "finished_at"), "ms")

# %% [markdown]
# ## 3. What the worker simulates
#
# Each report type is a short plan of steps. An `io` step *waits* (it stands for a query or a
# call to another service, and the event loop serves other jobs meanwhile); a `cpu` step
# *computes* the report, in a separate process so that the loop is never blocked.

# %%
from omniflow.worker.simulate import PLANS

labkit.table(
    [{"report type": kind, "step": name, "kind": step_kind}
     for kind, plan in PLANS.items() for name, step_kind, _ in plan]
)

# %% [markdown]
# The data is generated from the `seed`, so the same parameters always give the same report.
# We submit the same request twice and compare the summaries the worker wrote.

# %%
logs = labkit.mongo()
twins = [me.submit("inventory_snapshot", warehouse="OSLO-1", seed=5) for _ in range(2)]
twins = [me.wait_for_status(t["id"], "DONE") for t in twins]
summaries = [logs.executions.find_one({"_id": t["id"]})["summary"] for t in twins]
print("same summary twice:", summaries[0] == summaries[1])

# %%
# NBVAL_IGNORE_OUTPUT
print(summaries[0])

# %% [markdown]
# ## 4. Many jobs at once
#
# A worker runs up to `OMNIFLOW_WORKER_CONCURRENCY` jobs (16) at the same time on one event loop.
# We submit twelve reports in one go, wait for all of them, and compare the wall-clock time with
# the sum of their working times.

# %%
batch = [me.submit("user_activity", days=3, top=3, seed=n) for n in range(12)]
batch = [me.wait_for_status(b["id"], "DONE") for b in batch]


def span(item):
    return (dt.datetime.fromisoformat(item["started_at"]),
            dt.datetime.fromisoformat(item["finished_at"]))


spans = [span(b) for b in batch]
wall = (max(end for _, end in spans) - min(start for start, _ in spans)).total_seconds()
busy = sum((end - start).total_seconds() for start, end in spans)
most_at_once = max(sum(1 for s, e in spans if s <= start < e) for start, _ in spans)

print("all twelve DONE:", all(b["status"] == "DONE" for b in batch))
print("ran side by side:", most_at_once > 1 and busy > wall)

# %%
# NBVAL_IGNORE_OUTPUT
print(f"wall clock {wall:.2f} s, sum of working times {busy:.2f} s, "
      f"at most {most_at_once} at once")
print("workers that took part:", sorted({b["worker"] for b in batch}))

# %% [markdown]
# ## 5. Guarded transitions
#
# Every status change is one `UPDATE … WHERE` that names where it may come from, and returns a
# row only if it happened. Here is the worker's "start" statement, run by hand on our finished
# report. The guard refuses: a `DONE` report never goes back to `PROCESSING`, however often its
# job is delivered.

# %%
pg = labkit.postgres()
row = pg.execute(
    """
    UPDATE reports
    SET status = 'PROCESSING', attempts = attempts + 1, updated_at = now()
    WHERE id = %s AND generation = %s AND status IN ('PENDING', 'PROCESSING')
    RETURNING attempts
    """,
    (done["id"], done["generation"]),
).fetchone()
print("rows changed:", 0 if row is None else 1)
print("status now:  ", me.report(done["id"])["status"])

# %% [markdown]
# The gateway guards the user's actions the same way: a report can be cancelled only while it is
# `PENDING`. Ours is long done:

# %%
labkit.show_problem(me.request("POST", f"/reports/{done['id']}/cancel"))

# %% [markdown]
# ## 6. Exercise: how much of the time was waiting?
#
# The worker writes one `step` event per step to the log store's `events` collection, with
# `data.step_kind` (`io` or `cpu`) and `data.duration_ms`. Write `io_share(events)`: the share
# (between 0 and 1) of the steps' total duration spent in `io` steps.

# %%
# ✏️ YOUR ANSWER
def io_share(events):
    steps = [e["data"] for e in events if e["kind"] == "step"]
    total = sum(s["duration_ms"] for s in steps)
    waiting = sum(s["duration_ms"] for s in steps if s["step_kind"] == "io")
    return waiting / total


# %% [markdown]
# ### Check your answer

# %%
labkit.answered("io_share")


def all_step_events():
    """The report's events once every step's event is written (they are written in batches)."""
    found = list(logs.events.find({"report_id": done["id"]}))
    return found if sum(e["kind"] == "step" for e in found) == len(PLANS["sales_summary"]) else None


events = labkit.wait_until(all_step_events, what="the step events")
steps = logs.executions.find_one({"_id": done["id"]})["steps"]
expected = (sum(s["duration_ms"] for s in steps if s["kind"] == "io")
            / sum(s["duration_ms"] for s in steps))
share = io_share(events)
assert 0 < share < 1, "a share is between 0 and 1"
assert abs(share - expected) < 1e-3, "compare with the durations in the execution document"
labkit.passed("Your share matches the durations the worker recorded.")

# %% [markdown]
# And for this report? On a quiet machine most of a report's life is waiting (its `io` steps),
# which is why one event loop can serve many jobs at once. On a busy machine the `cpu` step waits
# for a core and stretches, and the share drops.

# %%
# NBVAL_IGNORE_OUTPUT
labkit.answered("share")  # set by the check above, once it passes
print(f"{share:.0%} of the steps' time was io")

# %% [markdown]
# ## 7. Clean up
#
# Every report we submitted is finished; we close the connections.

# %%
print("nothing left running:", all(r["status"] == "DONE" for r in me.reports()))
me.close()
pg.close()
logs.client.close()

# %% [markdown]
# **Next:** lesson 05 opens the log store the worker writes to.
