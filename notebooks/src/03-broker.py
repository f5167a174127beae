# %% [markdown]
# # Lesson 03 · The broker: Redis Streams and consumer groups
#
# **Goals.** By the end of this notebook you will be able to:
#
# 1. append jobs to a stream and read them back,
# 2. share a stream's entries among consumers with a **consumer group**,
# 3. read the **pending entries list** and end an entry with `XACK`,
# 4. take over the entry of a consumer that "crashed", with `XAUTOCLAIM`,
# 5. inspect a stream and its groups with `XINFO`.
#
# Lesson text: `lessons/03-broker.md`.
#
# ⚠️ We never read the real jobs stream through the workers' group: that would take jobs away
# from them. Everything we change happens in a **sandbox stream** whose name is unique to this
# run, and the last cell deletes it.

# %%
from omniflow import labkit

labkit.check_stack(need=["redis"])

# %% [markdown]
# ## 1. A stream is an append-only log
#
# A job travels as a flat map of **strings** — the language-neutral contract in
# `omniflow.contracts.Job`. We build three jobs with fixed ids and times so that what we print
# is the same on every run.

# %%
import datetime as dt

from omniflow.contracts import Job

r = labkit.redis()
sandbox = labkit.unique_name("lab:broker")

jobs = [
    Job(report_id=f"00000000-0000-4000-8000-00000000000{n}", generation=1,
        type="user_activity", params={"days": n, "top": 3}, trace_id=f"trace-{n}",
        submitted_at=dt.datetime(2026, 1, 1, 9, 0, n, tzinfo=dt.UTC))
    for n in (1, 2, 3)
]
ids = [r.xadd(sandbox, job.to_fields()) for job in jobs]

print("entries in the stream:", r.xlen(sandbox))
print("one entry, as stored: ")
first_id, first_fields = r.xrange(sandbox, count=1)[0]
for key, value in first_fields.items():
    print(f"  {key:<13}{value}")

# %% [markdown]
# Each id is `<milliseconds>-<sequence>`, given by the server, always increasing. (The tests
# replace it with `STREAM-ID` when they compare outputs: it is different on every run.)

# %%
print("first id:", first_id)
print("ids increase:", ids == sorted(ids, key=lambda i: tuple(map(int, i.split("-")))))

# %% [markdown]
# Decoding is the other half of the contract. A worker in any language does the same: read the
# strings, check the version `v`, parse `params` as JSON.

# %%
decoded = Job.from_fields(first_fields)
print(decoded.job_id.endswith(":1"), decoded.params, decoded.submitted_at.isoformat())

# %% [markdown]
# ## 2. A consumer group shares the work
#
# We create a group that starts at the beginning of the stream (`0`), and read as two consumers.
# `>` means "entries nobody in the group has received yet". Alice asks for two, Bob for two —
# but only one is left for him.

# %%
group = "lab-readers"
r.xgroup_create(sandbox, group, id="0")

alice = r.xreadgroup(group, "alice", {sandbox: ">"}, count=2)[0][1]
bob = r.xreadgroup(group, "bob", {sandbox: ">"}, count=2)[0][1]

print("alice got:", [fields["trace_id"] for _, fields in alice])
print("bob got:  ", [fields["trace_id"] for _, fields in bob])

# %% [markdown]
# ## 3. Pending entries
#
# Both have their entries, but neither has said "done". The group keeps every delivered,
# unacknowledged entry in its **pending entries list**, with who holds it and how many times it
# has been delivered.

# %%
summary = r.xpending(sandbox, group)
print("pending:", summary["pending"])
for consumer in summary["consumers"]:
    print(f"  {consumer['name']:<6} holds {consumer['pending']}")

# %% [markdown]
# Alice finishes her work and acknowledges. Bob "crashes": he never will.

# %%
acked = r.xack(sandbox, group, *[entry_id for entry_id, _ in alice])
print("acknowledged:", acked)
print("pending now: ", r.xpending(sandbox, group)["pending"])

# %% [markdown]
# ## 4. Taking over a dead consumer's entry
#
# Bob's entry would stay pending forever. Any consumer can claim entries that have been idle for
# long enough with `XAUTOCLAIM`; the workers do exactly this on a timer, with an idle limit of
# `OMNIFLOW_CLAIM_IDLE_MS` (15 s by default). Here we wait a moment and use 100 ms.

# %%
import time

time.sleep(0.2)
cursor, claimed, deleted = r.xautoclaim(sandbox, group, "carol", min_idle_time=100,
                                        start_id="0-0")
print("carol claimed:", [fields["trace_id"] for _, fields in claimed])

detail = r.xpending_range(sandbox, group, min="-", max="+", count=10)
for row in detail:
    print(f"  held by {row['consumer']}, delivered {row['times_delivered']} times")

# %% [markdown]
# The delivery count went up to 2. Redis counts every delivery, whether the consumer before
# failed the job or died holding it; the workers stop retrying a job after
# `OMNIFLOW_MAX_DELIVERIES` deliveries (or after `OMNIFLOW_MAX_ATTEMPTS` failed attempts, which
# they record themselves) and move it to the **dead-letter stream** (lesson 08). Carol finishes
# the job:

# %%
r.xack(sandbox, group, *[entry_id for entry_id, _ in claimed])
print("pending:", r.xpending(sandbox, group)["pending"])

# %% [markdown]
# ## 5. Looking inside with XINFO
#
# `XINFO GROUPS` shows each group's position: how many entries it holds pending, and its **lag**
# (entries not delivered to anyone yet). `XINFO CONSUMERS` lists the consumers. Note that a
# consumer stays listed after it stops reading — Bob is still there.

# %%
info = r.xinfo_groups(sandbox)[0]
print("group:", info["name"], "| consumers:", info["consumers"], "| pending:", info["pending"],
      "| lag:", info["lag"])
for consumer in r.xinfo_consumers(sandbox, group):
    print(f"  {consumer['name']:<6} pending {consumer['pending']}")

# %% [markdown]
# Now the real jobs stream, read only. Its numbers grow with every report anyone submits, so the
# tests do not compare the next cell's output; the group's name is stable, though.

# %%
cfg = labkit.settings()
print("groups on", cfg.jobs_stream, "->", [g["name"] for g in r.xinfo_groups(cfg.jobs_stream)])

# %%
# NBVAL_IGNORE_OUTPUT
stream_info = r.xinfo_stream(cfg.jobs_stream)
workers_group = next(g for g in r.xinfo_groups(cfg.jobs_stream) if g["name"] == cfg.consumer_group)
print("entries in the stream:", stream_info["length"])
print("pending (delivered, not acknowledged):", workers_group["pending"])
print("lag (not delivered yet):", workers_group["lag"])
labkit.table(
    [{"consumer": c["name"], "pending": c["pending"], "idle_ms": c["idle"]}
     for c in r.xinfo_consumers(cfg.jobs_stream, cfg.consumer_group)]
)

# %% [markdown]
# ## 6. Exercise: who is holding things up?
#
# Write `unacknowledged(r, stream, group)` returning a pair: how many entries the group has not
# acknowledged, and the name of the consumer holding the **oldest** of them (`None` when nothing
# is pending). Hint: `r.xpending_range(stream, group, min="-", max="+", count=1)` returns the
# oldest pending entry first.

# %%
# ✏️ YOUR ANSWER
def unacknowledged(r, stream, group):
    pending = r.xpending(stream, group)["pending"]
    if not pending:
        return 0, None
    oldest = r.xpending_range(stream, group, min="-", max="+", count=1)[0]
    return pending, oldest["consumer"]


# %% [markdown]
# ### Check your answer
#
# The check builds its own small stream, so it does not depend on anything above.

# %%
labkit.answered("unacknowledged")
check = labkit.unique_name("lab:broker-check")
for n in range(3):
    r.xadd(check, {"n": str(n)})
r.xgroup_create(check, "g", id="0")
first = r.xreadgroup("g", "x", {check: ">"}, count=1)[0][1]
rest = r.xreadgroup("g", "y", {check: ">"}, count=2)[0][1]

assert unacknowledged(r, check, "g") == (3, "x"), "three pending, the oldest held by x"
r.xack(check, "g", first[0][0])
assert unacknowledged(r, check, "g") == (2, "y"), "after x acknowledges, y holds the oldest"
r.xack(check, "g", *[entry_id for entry_id, _ in rest])
assert unacknowledged(r, check, "g") == (0, None), "nothing pending: (0, None)"
r.delete(check)
labkit.passed("You can tell what a group is waiting for, and who holds it.")

# %% [markdown]
# ## 7. Clean up
#
# Deleting the sandbox stream deletes its group and consumers with it.

# %%
print("deleted sandbox streams:", r.delete(sandbox))
r.close()

# %% [markdown]
# **Next:** lesson 04 follows the real workers as they read the real stream.
