# %% [markdown]
# # Lesson 08 · Failure and recovery
#
# **Goals.** By the end of this notebook you will have:
#
# 1. killed a worker in the middle of a job, and watched another worker **reclaim** the job and
#    finish it — once;
# 2. sent a **poison** job that can never succeed, watched it land in the **dead-letter stream**,
#    fixed its cause and **requeued** it;
# 3. stopped the relay and seen why the gateway writes jobs to an **outbox** instead of
#    publishing them itself (the *dual-write problem*).
#
# Lesson text: `lessons/08-failure-recovery.md`.
#
# ⚠️ This notebook stops and starts processes through the `omniflow` launcher, so it needs the
# embedded stack (`make lab`). Its last cell puts everything back; if you stop halfway, run that
# cell (or `omniflow up` in a terminal).

# %%
from omniflow import labkit

labkit.check_stack()
stack = labkit.stack()
cfg = labkit.settings()
r = labkit.redis()
logs = labkit.mongo()
me = labkit.new_learner()

# %% [markdown]
# ## 1. Two workers of our own
#
# The stack's workers wait `OMNIFLOW_CLAIM_IDLE_MS` (15 s) before they take over a silent
# worker's job: long enough that a slow job is never stolen from a live worker. To keep this
# lesson short we stop them, and run two workers of our own, `lab-a` and `lab-b`, with an idle
# limit of 2 s. They are the same program, `python -m omniflow.worker`, with other settings —
# which is all a setting is. `work_scale=2` makes each job last a couple of seconds, so we have
# time to kill one mid-job.

# %%
stack.stop("worker")
lab_workers = {name: labkit.start_lab_worker(name, wait=False, claim_idle_ms=2000, work_scale=2)
               for name in ("lab-a", "lab-b")}
labkit.wait_until(lambda: set(lab_workers) <= set(labkit.live_workers()), timeout=30,
                  what="the first heartbeat of both lab workers")
print("live workers:", labkit.live_workers())

# %% [markdown]
# ## 2. Kill a worker mid-job
#
# We submit a report, wait until a worker has started it, and kill *that* worker with `SIGKILL`:
# no goodbye, no cleanup — as when a machine loses power or the kernel kills a process that ran
# out of memory.
#
# One detail first: a worker keeps its events in memory for up to ~100 ms and writes them in
# batches. Whatever is still in memory when the process is killed is lost. So we wait until the
# worker's `processing` event is in the log store before we pull the plug — otherwise the log
# would not even show that attempt 1 happened.

# %%
report = me.submit("user_activity", days=30, top=5, seed=8)
started = me.wait_for_status(report["id"], "PROCESSING", timeout=15)
victim = started["worker"]
survivor = next(name for name in lab_workers if name != victim)
labkit.wait_until(lambda: logs.events.find_one({"report_id": report["id"], "kind": "processing"}),
                  what="the processing event")

lab_workers[victim].kill()
print("killed the worker that held our report:", not lab_workers[victim].alive())
print("status right after the kill:", me.report(report["id"])["status"])

# %% [markdown]
# The report says `PROCESSING`, but nobody is processing it. What saves the job is the
# consumer group's **pending entries list**: the entry was delivered to the dead worker and never
# acknowledged, so it is still there, under the dead worker's name.

# %%
pending = r.xpending_range(cfg.jobs_stream, cfg.consumer_group, min="-", max="+", count=100)
ours = [p for p in pending if p["consumer"] == victim]
print("entries still pending under the dead worker:", len(ours))

# %% [markdown]
# Every worker runs a *reclaim* loop. Once the entry has been idle for 2 s, the survivor claims it
# with `XAUTOCLAIM`, sees it is the second delivery, and starts a new **attempt**. The guarded
# `UPDATE` lets the new attempt take over the `PROCESSING` report; the old attempt, if it ever
# came back, could no longer finish it.

# %%
done = me.wait_for_status(report["id"], "DONE", timeout=30)
execution = logs.executions.find_one({"_id": report["id"]})

print("status:", done["status"], "| attempts:", done["attempts"])
print("finished by the survivor:", done["worker"] == survivor)
print("delivered twice:", execution["deliveries"] == 2)
print("execution documents for this report:",
      logs.executions.count_documents({"report_id": report["id"]}))

# %% [markdown]
# One report, one `DONE`, one execution document — although the job ran twice. That is
# *at-least-once delivery* with *exactly-once effects*.
#
# ## 3. Exercise: tell the story from the events
#
# Each attempt starts with a `processing` event carrying its `attempt` number and its `worker`.
# Write `attempt_story(report_id)` returning the list of `(attempt, worker)` pairs of a
# report, oldest first.

# %%
# ✏️ YOUR ANSWER
def attempt_story(report_id):
    events = logs.events.find({"report_id": report_id, "kind": "processing"}).sort("attempt", 1)
    return [(e["attempt"], e["worker"]) for e in events]


# %% [markdown]
# ### Check your answer

# %%
labkit.answered("attempt_story")
labkit.wait_until(lambda: logs.events.count_documents(
    {"report_id": report["id"], "kind": "done"}), what="the done event")
story = attempt_story(report["id"])
assert story == [(1, victim), (2, survivor)], f"got {story}"
assert execution["attempt"] == story[-1][0], "the execution is the last attempt's"
labkit.passed("Attempt 1 died with its worker; attempt 2 finished the job.")

# %% [markdown]
# ## 4. A poison job
#
# Some jobs can never succeed: bad input, a bug in the code for one case. Retrying them forever
# would waste the workers. Each failed attempt is recorded; after `OMNIFLOW_MAX_ATTEMPTS` (3) of
# them, the worker gives up: the report becomes `FAILED` with the reason, and the job moves to the
# **dead-letter stream** `omniflow:jobs:dead`, where a person can look at it. (The worker killed
# in section 2 cost its job a delivery and an attempt number, but that attempt did not *fail*,
# so it does not count towards the limit.) The parameter `poison=True` makes a job fail at its
# first step, every time.

# %%
poison = me.submit("user_activity", days=7, top=3, poison=True)
failed = me.wait_for_status(poison["id"], "FAILED", timeout=45)
print("status:", failed["status"], "| attempts:", failed["attempts"])
print("reason:", failed["failure_reason"])

# %% [markdown]
# The administrator sees the dead letter through the gateway's admin API. It keeps the original
# job's fields, plus why and after how many deliveries it died.

# %%
admin = labkit.admin()
letters = admin.get("/admin/dead-letters", params={"limit": 500})["items"]
letter = next(item for item in letters if item["report_id"] == poison["id"])
print("deliveries:", letter["deliveries"], "| generation:", letter["generation"])
print("reason:", letter["reason"])

# %% [markdown]
# ### Requeue — after fixing the cause
#
# Requeueing as it is would just fail three more times. Here the cause is the input, so we play
# the engineer who repaired the data (one `UPDATE` in PostgreSQL), then requeue. The requeue puts
# the report back to `PENDING` as a **new generation** with a new job in the outbox, and removes
# the dead letter.

# %%
pg = labkit.postgres()
pg.execute("""UPDATE reports SET params = params || '{"poison": false}'::jsonb
              WHERE id = %s""", (poison["id"],))

requeued = admin.post(f"/admin/dead-letters/{letter['entry_id']}/requeue")
print("requeued:", requeued["status"], "| generation:", requeued["generation"])

healed = me.wait_for_status(poison["id"], "DONE", timeout=30)
print("now:", healed["status"], "| generation:", healed["generation"])
print("execution is of generation:",
      logs.executions.find_one({"_id": poison["id"]})["generation"])

# %%
letters = admin.get("/admin/dead-letters", params={"limit": 500})["items"]
print("our dead letter is gone:", all(item["report_id"] != poison["id"] for item in letters))

# %% [markdown]
# ## 5. The dual-write problem, and the outbox
#
# Submitting a report must do two things: save it (PostgreSQL) and queue its job (Redis). Two
# systems cannot share one transaction. If the gateway saved the report and *then* published the
# job, a crash or a Redis outage between the two would leave a report that no worker will ever
# see; publishing first risks a job for a report that was never saved.
#
# The gateway does neither. It writes the report **and** an `outbox` row in one PostgreSQL
# transaction — both or neither — and the **relay** publishes outbox rows afterwards. Let us stop
# the relay and submit.

# %%
stack.stop("relay")
waiting = me.submit("inventory_snapshot", warehouse="BERLIN-3", seed=2)

outbox = pg.execute("SELECT published_at FROM outbox WHERE report_id = %s",
                    (waiting["id"],)).fetchone()
print("accepted:", waiting["status"])
print("outbox row written, not yet published:", outbox["published_at"] is None)

# %% [markdown]
# The request succeeded although nothing could reach the workers. The job waits, safely, in
# PostgreSQL. Start the relay again and it is delivered:

# %%
stack.start("relay")
arrived = me.wait_for_status(waiting["id"], "DONE", timeout=30)
outbox = pg.execute("SELECT published_at FROM outbox WHERE report_id = %s",
                    (waiting["id"],)).fetchone()
print("status:", arrived["status"], "| outbox row published:", outbox["published_at"] is not None)

# %% [markdown]
# The relay has its own crash window: it may publish a batch and die before it marks the rows
# published. Then it publishes them again. So publishing must be **idempotent**: the Lua script in
# `omniflow.broker` remembers each job's stream id, and a second publish of the same job returns
# the first id instead of adding an entry. We try it on a sandbox stream:

# %%
import datetime as dt

from omniflow import broker
from omniflow.contracts import Job
from omniflow.settings import Settings

sandbox = labkit.unique_name("lab:outbox")
client = broker.connect(cfg)
publisher = broker.Publisher(client, Settings(jobs_stream=sandbox))
job = Job(report_id=labkit.unique_name("lab-report"), generation=1, type="user_activity",
          params={"days": 1}, trace_id="trace-outbox", submitted_at=dt.datetime.now(dt.UTC))

first_ids = await publisher.publish_many([job])
again_ids = await publisher.publish_many([job])
print("same id both times:", first_ids == again_ids)
print("entries in the sandbox stream:", r.xlen(sandbox))

# %% [markdown]
# ## 6. Clean up
#
# We stop our lab workers, start the stack's workers and the relay again, and remove what we
# made in Redis: the sandbox stream, its idempotency key, and our two consumers' names from the
# workers' group.

# %%
started_again = labkit.restore_stack()
print("started again:", started_again)

r.delete(sandbox, broker.published_key(job.job_id))
await client.aclose()
from omniflow import signals

for name in lab_workers:
    r.xgroup_delconsumer(cfg.jobs_stream, cfg.consumer_group, name)
    r.srem(signals.WORKERS_KEY, name)
    r.delete(signals.worker_key(name))

labkit.check_stack()
for closable in (me, admin, pg, r):
    closable.close()
logs.client.close()

# %% [markdown]
# **Next:** lesson 09 adds workers instead of killing them, and measures what that buys.
