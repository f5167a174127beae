# %% [markdown]
# # Lesson 00 · Welcome: one report, end to end
#
# **Goals.** By the end of this notebook you will have:
#
# 1. checked that every part of the stack answers,
# 2. asked the system for a report, as a brand-new user,
# 3. watched the report go from `PENDING` to `DONE`,
# 4. opened the record the worker wrote about it in the log store.
#
# The lesson text is in `lessons/00-welcome.md`. Run the cells from top to bottom
# (**Shift + Enter**). Cells marked **✏️ YOUR ANSWER** are yours to change.

# %% [markdown]
# ## 1. Is the stack up?
#
# `labkit.check_stack()` asks each part a real question: PostgreSQL runs `SELECT 1`, Redis
# answers `PING`, MongoDB answers `ping`, the gateway answers `/health/ready`, and at least one
# worker has sent a heartbeat in the last seconds. If something is down, it tells you what to do.

# %%
from omniflow import labkit

labkit.check_stack()

# %% [markdown]
# ## 2. Become a user
#
# Every notebook signs up a **new** learner with a random email, so nothing here depends on what
# you (or an earlier run) did before. `me` is an HTTP client that sends your access token with
# every request.

# %%
me = labkit.new_learner()
print("logged in as a new learner:", me.email.endswith("@lab.example.org"))

# %% [markdown]
# ## 3. Ask for a report
#
# A `user_activity` report ranks the most active users over the last `days`. The `seed` makes
# the simulated data repeatable: the same parameters always give the same result.
#
# The gateway answers at once with `202 Accepted`. The report is saved, but nobody has worked on
# it yet: its status is `PENDING`.

# %%
report = me.submit("user_activity", days=7, top=3, seed=42)

print("status:", report["status"])
print("type:  ", report["type"])
print("params:", report["params"])

# %% [markdown]
# Notice the parameter you did not send: `poison` got its default (`False`). The gateway validated
# the request against the report type's schema and stored the complete parameters.
#
# ## 4. Watch it being done
#
# Somewhere else, a worker picks the job up. We ask the gateway for the report a few times a
# second and note each status we see. (This cell's output changes from run to run: a worker may
# start the job before our first look, and then the first status we see is `PROCESSING`.)

# %%
# NBVAL_IGNORE_OUTPUT
import time

seen = []
began = time.monotonic()
while not seen or seen[-1] not in ("DONE", "FAILED"):
    status = me.report(report["id"])["status"]
    if not seen or seen[-1] != status:
        seen.append(status)
        print(f"{time.monotonic() - began:5.2f} s  {status}")
    if time.monotonic() - began > 30:
        raise TimeoutError("the report did not finish in 30 s: is a worker running?")
    time.sleep(0.05)

# %% [markdown]
# In the next lessons we use `wait_for_status`, which does the same polling with a deadline:

# %%
done = me.wait_for_status(report["id"], "DONE")

print("status:  ", done["status"])
print("progress:", done["progress"], "%")
print("attempts:", done["attempts"])

# %% [markdown]
# ## 5. What did the worker do?
#
# The worker wrote one **execution document** per report to MongoDB, in the `executions`
# collection, under the report's id. It holds the steps it ran and the report's summary.

# %%
logs = labkit.mongo()
execution = logs.executions.find_one({"_id": report["id"]})

print("status:", execution["status"], "| type:", execution["type"])
print("steps: ", [step["name"] for step in execution["steps"]])
print("summary fields:", sorted(execution["summary"]))

# %% [markdown]
# The summary itself, and how long each step took. The automatic tests do not compare this
# cell's output (that is what `# NBVAL_IGNORE_OUTPUT` on its first line means): durations
# differ on every run, and the numbers depend on the version of the simulated work.

# %%
# NBVAL_IGNORE_OUTPUT
print("summary:", execution["summary"])
labkit.table(
    [{"step": s["name"], "kind": s["kind"], "ms": round(s["duration_ms"], 1)}
     for s in execution["steps"]]
)

# %% [markdown]
# ## 6. Exercise: a report of another type
#
# Ask for an `inventory_snapshot` of the warehouse `LYON-2`, wait until it is `DONE`, and keep
# the finished report in `my_report`. The report types and their parameters are listed in
# `omniflow.contracts` (or in the API docs at `/docs`).
#
# The cell below is pre-filled with a working answer so the notebook runs from top to bottom.
# Clear it and write your own, then run the check.

# %%
# ✏️ YOUR ANSWER
submitted = me.submit("inventory_snapshot", warehouse="LYON-2")
my_report = me.wait_for_status(submitted["id"], "DONE")

# %% [markdown]
# ### Check your answer

# %%
labkit.answered("my_report")
assert my_report["type"] == "inventory_snapshot", "ask for an inventory_snapshot"
assert my_report["params"]["warehouse"] == "LYON-2", "the warehouse should be LYON-2"
assert my_report["status"] == "DONE", "wait until the report is DONE"
assert logs.executions.find_one({"_id": my_report["id"]}) is not None, "no execution record?"
labkit.passed("Your report is done, and the worker recorded it.")

# %% [markdown]
# ## 7. Clean up
#
# We close our connections. The reports stay: they belong to this notebook's learner, and no
# other lesson looks at them.

# %%
me.close()
logs.client.close()
print("closed")

# %% [markdown]
# **Next:** lesson 01 shows what runs where — ports, data folders, logs and settings.
