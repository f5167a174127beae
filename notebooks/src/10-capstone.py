# %% [markdown]
# # Lesson 10 · Capstone: prove that every report was handled exactly once
#
# **Goals.** You are the engineer on call. A batch of reports has gone through the system —
# including a retried request and a job that could never succeed — and you must show, from the
# data alone, that each report was handled **exactly once**. You will:
#
# 1. run a realistic batch through the gateway (lessons 02 and 06),
# 2. read each report's truth from the three stores: PostgreSQL (status), MongoDB (execution and
#    events) and Redis (pending entries and dead letters) (lessons 03–05),
# 3. write an **auditor** that checks the invariants of the design (lessons 04 and 08),
# 4. prove your auditor catches an inconsistency when there is one.
#
# Lesson text: `lessons/10-capstone.md`. Like lessons 08 and 09, this notebook runs two workers
# of its own (embedded stack only), and its last cell restores the stack.
#
# ⚠️ If you stop halfway, or a check fails, run the last cell anyway (or `omniflow up` in a
# terminal): it starts the stack's own workers again.

# %%
from omniflow import labkit

labkit.check_stack()
stack = labkit.stack()
cfg = labkit.settings()
me = labkit.new_learner()
admin = labkit.admin()
r = labkit.redis()
logs = labkit.mongo()
pg = labkit.postgres()

# %% [markdown]
# ## 1. The batch
#
# Two workers of our own with a 2 s claim idle time, so that the poison job reaches the
# dead-letter stream in seconds rather than a minute. Then the batch: six ordinary reports of
# all three types, one request sent **twice** with the same `Idempotency-Key` (a client retry),
# and one **poison** job.

# %%
stack.stop("worker")
lab_workers = [labkit.start_lab_worker(name, wait=False, claim_idle_ms=2000)
               for name in ("cap-a", "cap-b")]
labkit.wait_until(lambda: {"cap-a", "cap-b"} <= set(labkit.live_workers()),
                  what="the workers' first heartbeats")

orders = [
    ("sales_summary", {"region": "north", "start_date": "2026-01-01", "end_date": "2026-01-31"}),
    ("sales_summary", {"region": "all", "start_date": "2026-02-01", "end_date": "2026-02-14"}),
    ("inventory_snapshot", {"warehouse": "LYON-2"}),
    ("inventory_snapshot", {"warehouse": "OSLO-1", "include_zero_stock": True}),
    ("user_activity", {"days": 7, "top": 3}),
    ("user_activity", {"days": 30, "top": 10}),
]
batch = [me.submit(kind, seed=n, **params) for n, (kind, params) in enumerate(orders)]

retried = [me.submit("user_activity", days=14, idempotency_key="capstone-retry")
           for _ in range(2)]
batch.append(retried[0])
batch.append(me.submit("user_activity", days=1, poison=True))

print("requests sent:", len(orders) + len(retried) + 1, "| reports created:",
      len({report["id"] for report in batch}))
print("the retry returned the first report:", retried[0]["id"] == retried[1]["id"])

# %%
finished = [me.wait_for_status(report["id"], ("DONE", "FAILED"), timeout=60) for report in batch]
print("finished:", sorted(report["status"] for report in finished))

# %% [markdown]
# ## 2. The truth, store by store
#
# Four small readers give you everything the auditor needs. Read them before you write yours.

# %%
def execution_docs(report_id):
    """Every execution document of a report (the design says: exactly one)."""
    return list(logs.executions.find({"report_id": report_id}))


def final_events(report_id, generation):
    """The `done` and `failed` events of one generation of a report."""
    return list(logs.events.find({"report_id": report_id, "generation": generation,
                                  "kind": {"$in": ["done", "failed"]}}))


def pending_report_ids():
    """Report ids of the jobs that a worker received and did not acknowledge (yet)."""
    entries = r.xpending_range(cfg.jobs_stream, cfg.consumer_group, min="-", max="+",
                               count=10_000)
    ids = set()
    for entry in entries:
        found = r.xrange(cfg.jobs_stream, min=entry["message_id"], max=entry["message_id"])
        if found:
            ids.add(found[0][1].get("report_id"))
    return ids


def dead_letters(report_id):
    """The dead-letter entries of a report."""
    return [fields for _, fields in r.xrevrange(cfg.dead_stream, count=10_000)
            if fields.get("report_id") == report_id]


def all_final_events_written():
    return all(final_events(f["id"], f["generation"]) for f in finished)


# A worker acknowledges right after it finishes, and writes its events in batches: give both
# a moment to land before auditing.
labkit.wait_until(all_final_events_written, what="every report's final event")
labkit.wait_until(lambda: not {f["id"] for f in finished} & pending_report_ids(),
                  what="every job to be acknowledged")
sample = finished[0]
print("a report's executions:", len(execution_docs(sample["id"])),
      "| final events:", [e["kind"] for e in final_events(sample["id"], sample["generation"])],
      "| pending:", sample["id"] in pending_report_ids(),
      "| dead letters:", len(dead_letters(sample["id"])))

# %% [markdown]
# ## 3. Exercise: the auditor
#
# Write `audit(report)`. It gets a report as the gateway returns it (a dict with `id`,
# `status`, `generation`, …) and returns a dict of named checks, each `True` or `False`:
#
# | check | true when |
# |---|---|
# | `finished` | the report is `DONE` or `FAILED` |
# | `one_execution` | there is exactly one execution document |
# | `execution_agrees` | that document has the report's `status` and `generation` |
# | `one_final_event` | exactly one final event for the report's generation, and its kind matches the status (`done` for `DONE`, `failed` for `FAILED`) |
# | `acknowledged` | no job of the report is still pending in the consumer group |
# | `dead_letter_iff_failed` | one dead letter if the report `FAILED`, none if it is `DONE` |
#
# The cell is pre-filled with a working answer. Clear it and write your own.

# %%
# ✏️ YOUR ANSWER
def audit(report):
    executions = execution_docs(report["id"])
    events = final_events(report["id"], report["generation"])
    expected_kind = {"DONE": "done", "FAILED": "failed"}.get(report["status"])
    letters = dead_letters(report["id"])
    return {
        "finished": report["status"] in ("DONE", "FAILED"),
        "one_execution": len(executions) == 1,
        "execution_agrees": len(executions) == 1
        and executions[0]["status"] == report["status"]
        and executions[0]["generation"] == report["generation"],
        "one_final_event": len(events) == 1 and events[0]["kind"] == expected_kind,
        "acknowledged": report["id"] not in pending_report_ids(),
        "dead_letter_iff_failed": len(letters) == (1 if report["status"] == "FAILED" else 0),
    }


# %% [markdown]
# ### Check your answer
#
# First, every report of the batch must pass every check. Then the auditor must **fail** on
# three planted inconsistencies — an auditor that always says "fine" proves nothing.

# %%
labkit.answered("audit")
CHECKS = {"finished", "one_execution", "execution_agrees", "one_final_event", "acknowledged",
          "dead_letter_iff_failed"}

for report in finished:
    result = audit(report)
    assert set(result) == CHECKS, f"name the checks exactly: {sorted(CHECKS)}"
    failing = [name for name, ok in result.items() if not ok]
    assert not failing, f"{report['type']} ({report['status']}) fails {failing}"

done_one = next(f for f in finished if f["status"] == "DONE")
failed_one = next(f for f in finished if f["status"] == "FAILED")
planted = {
    "a DONE report said to be FAILED": ({**done_one, "status": "FAILED"},
                                        {"execution_agrees", "one_final_event",
                                         "dead_letter_iff_failed"}),
    "a report of a generation that never ran": ({**done_one, "generation": 2},
                                                {"execution_agrees", "one_final_event"}),
    "a report still PROCESSING": ({**failed_one, "status": "PROCESSING"},
                                  {"finished", "execution_agrees", "one_final_event",
                                   "dead_letter_iff_failed"}),
}
for story, (fake, must_fail) in planted.items():
    result = audit(fake)
    missed = [name for name in must_fail if result[name]]
    assert not missed, f"{story}: these checks should fail but pass: {missed}"

labkit.passed("Every report was handled exactly once, and your auditor would have noticed "
              "if one was not.")

# %% [markdown]
# ## 4. The audit, as a table
#
# Tick marks for the whole batch, one row per report.

# %%
labkit.answered("audit")
labkit.table(
    [{"type": report["type"], "status": report["status"],
      **{name: "✔" if ok else "✘" for name, ok in audit(report).items()}}
     for report in sorted(finished, key=lambda f: (f["status"], f["type"]))]
)

# %% [markdown]
# ## 5. Clean up
#
# We stop our workers and start the stack's own again, remove our consumers from the group, and
# discard our dead letter (it has been audited).

# %%
from omniflow import signals

labkit.restore_stack()
for name in ("cap-a", "cap-b"):
    r.xgroup_delconsumer(cfg.jobs_stream, cfg.consumer_group, name)
    r.srem(signals.WORKERS_KEY, name)
ours = {report["id"] for report in batch}
for entry_id, fields in r.xrevrange(cfg.dead_stream, count=10_000):
    if fields.get("report_id") in ours:
        admin.request("DELETE", f"/admin/dead-letters/{entry_id}")
print("our dead letters discarded:", not any(dead_letters(report_id) for report_id in ours))

labkit.check_stack()
for closable in (me, admin, pg, r):
    closable.close()
logs.client.close()

# %% [markdown]
# **Well done.** You have followed reports through every part of the system, broken it on
# purpose, and proved from the data that it kept its promises. The pull request write-ups in
# `prs/` show how each lesson was reviewed; `.venv/bin/omniflow-pr start NN` starts your own.
