# %% [markdown]
# # Lesson 02 · The gateway: users, auth, validation and the API contract
#
# **Goals.** By the end of this notebook you will be able to:
#
# 1. sign up and log in with plain HTTP, and say what an access token carries,
# 2. tell `401` (who are you?) from `403` (not allowed) from `404` (not yours, or not there),
# 3. read a validation error and find the field it names,
# 4. submit safely twice with an `Idempotency-Key`,
# 5. find every route in the API's own description, `/openapi.json`.
#
# Lesson text: `lessons/02-gateway.md`. Here we use `httpx` directly, so you see each request
# as it goes over the wire; later lessons let `labkit` do it.

# %%
from omniflow import labkit

labkit.check_stack(need=["postgres", "redis", "gateway"])

# %% [markdown]
# ## 1. Sign up and log in
#
# A new account needs an email and a password of at least 8 characters. We make both up for
# this run. The gateway stores an Argon2 *hash* of the password, never the password.

# %%
import secrets
import uuid

import httpx

cfg = labkit.settings()
api = httpx.Client(base_url=cfg.gateway_url, timeout=10)

email = f"ada-{uuid.uuid4().hex[:10]}@lab.example.org"
password = secrets.token_urlsafe(16)

signup = api.post("/auth/signup", json={"email": email, "password": password})
print("signup:", signup.status_code, "| role:", signup.json()["role"])

login = api.post("/auth/login", json={"email": email, "password": password})
token = login.json()
print("login: ", login.status_code, "| token type:", token["token_type"],
      "| expires in:", token["expires_in"], "s")

# %% [markdown]
# The access token is a **JWT**: three base64 parts, `header.payload.signature`. Anyone can read
# the payload — only the gateway, which knows the secret, can check the signature. Here we read
# it *without* checking (never do that on a server). We print the claim names, not the values.

# %%
import jwt

claims = jwt.decode(token["access_token"], options={"verify_signature": False})
print("claims:", sorted(claims))
print("role:  ", claims["role"])
print("valid for", claims["exp"] - claims["iat"], "seconds")

# %% [markdown]
# ## 2. Who are you, and may you?
#
# Without a token, a protected route answers `401 Unauthorized`, with a `WWW-Authenticate`
# header saying which scheme to use. With the token, `/auth/me` says who we are. An admin route
# answers `403 Forbidden`: the gateway knows us, we are just not allowed.
#
# Every error has the same shape (RFC 9457 problem details); `labkit.show_problem` prints its
# status, title and detail.

# %%
auth = {"Authorization": f"Bearer {token['access_token']}"}

anonymous = api.get("/reports")
labkit.show_problem(anonymous)
print("WWW-Authenticate:", anonymous.headers["WWW-Authenticate"])

me = api.get("/auth/me", headers=auth).json()
print("me:", me["email"] == email, me["role"])

labkit.show_problem(api.get("/admin/stats/status", headers=auth))

# %% [markdown]
# Logging in with a wrong password answers `401` with a message that does not say *which* of
# the two was wrong. Keep trying, and the gateway slows you down: after
# `OMNIFLOW_LOGIN_RATE_PER_MINUTE` attempts (10) per minute for one address and email, it
# answers `429 Too Many Requests` with a `Retry-After` header.

# %%
statuses = []
for _ in range(25):
    attempt = api.post("/auth/login", json={"email": email, "password": "not-my-password"})
    statuses.append(attempt.status_code)
    if attempt.status_code == 429:
        break
print("401 first, then 429:", statuses[0] == 401 and statuses[-1] == 429)
print("title:", attempt.json()["title"], "| Retry-After given:", "Retry-After" in attempt.headers)

# %% [markdown]
# ## 3. Validation: refused before anything is stored
#
# The body of `POST /reports` is a `type` and its `params`. Each report type has a schema
# (`omniflow.contracts`), and the gateway checks the request against it. A bad request answers
# `422` naming each bad field; nothing is saved.

# %%
bad_requests = [
    {"type": "user_activity", "params": {"days": 365}},
    {"type": "user_activity", "params": {"days": "many", "colour": "red"}},
    {"type": "sales_summary", "params": {"region": "mars", "start_date": "2026-01-01",
                                         "end_date": "2026-01-31"}},
    {"type": "weather_forecast", "params": {}},
]
for body in bad_requests:
    labkit.show_problem(api.post("/reports", json=body, headers=auth))

# %% [markdown]
# The body size is limited too (`OMNIFLOW_MAX_BODY_BYTES`, 64 KiB): a larger one is refused with
# `413` before it is even parsed.

# %%
labkit.show_problem(api.post("/reports", content=b"[" + b"0," * 40_000 + b"0]", headers={
    **auth, "Content-Type": "application/json"}))

# %% [markdown]
# ## 4. Submit: accepted, not done
#
# A valid request answers `202 Accepted`: the report and its job are saved (status `PENDING`),
# and the `Location` header says where to follow it. The work happens later, elsewhere.

# %%
request = {"type": "user_activity", "params": {"days": 14, "top": 5, "seed": 7}}
accepted = api.post("/reports", json=request, headers=auth)
report = accepted.json()
print(accepted.status_code, report["status"], "| generation", report["generation"],
      "| attempts", report["attempts"])
print("Location: /reports/<the new report's id>:",
      accepted.headers["Location"] == f"/reports/{report['id']}")

# %% [markdown]
# ### Idempotency: the safe retry
#
# A client that times out cannot know whether its request got through. With an
# `Idempotency-Key`, it can simply send again: the gateway returns the first report (`200`,
# `Idempotent-Replayed: true`) instead of creating a second one. Reusing a key for a *different*
# request is an error (`409`).

# %%
key = {"Idempotency-Key": "lesson-02-first-order"}
first = api.post("/reports", json=request, headers={**auth, **key})
again = api.post("/reports", json=request, headers={**auth, **key})
print("first:", first.status_code, "| again:", again.status_code,
      "| replayed:", again.headers.get("Idempotent-Replayed"))
print("same report:", first.json()["id"] == again.json()["id"])

other = {"type": "user_activity", "params": {"days": 30}}
labkit.show_problem(api.post("/reports", json=other, headers={**auth, **key}))

# %% [markdown]
# ## 5. Not yours: 404
#
# Another learner asks for our report. The gateway answers `404`, exactly as for an id that
# does not exist — a `403` would tell them the id is real.

# %%
stranger = labkit.new_learner("stranger")
labkit.show_problem(stranger.request("GET", f"/reports/{report['id']}"))
labkit.show_problem(stranger.request("GET", f"/reports/{uuid.uuid4()}"))
stranger.close()

# %% [markdown]
# ## 6. The API describes itself
#
# FastAPI publishes an OpenAPI document built from the routes and their models; the interactive
# docs at `/docs` are drawn from it (open `OMNIFLOW_GATEWAY_URL` + `/docs` in your browser).
# Here are the routes of the `reports` part, and what the submit route may answer:

# %%
spec = api.get("/openapi.json").json()
for path, operations in sorted(spec["paths"].items()):
    for method, operation in operations.items():
        if "reports" in operation.get("tags", []):
            print(f"{method.upper():<6} {path:<30} {operation['summary']}")
print("POST /reports may answer:", sorted(spec["paths"]["/reports"]["post"]["responses"]))

# %% [markdown]
# ## 7. Exercise: ask for the first quarter
#
# 1. In `q1_body`, write the body that asks for a `sales_summary` of the **north** region from
#    2026-01-01 to 2026-03-31.
# 2. Someone swaps the two dates. Which field will the gateway name in its `422`? Put your
#    prediction in `swapped_field` (a string like `"params.something"`).

# %%
# ✏️ YOUR ANSWER
q1_body = {
    "type": "sales_summary",
    "params": {"region": "north", "start_date": "2026-01-01", "end_date": "2026-03-31"},
}
swapped_field = "params.end_date"

# %% [markdown]
# ### Check your answer

# %%
labkit.answered("q1_body", "swapped_field")
answer = api.post("/reports", json=q1_body, headers=auth)
assert answer.status_code == 202, f"the gateway refused it: {answer.json().get('errors')}"
saved = answer.json()
assert saved["type"] == "sales_summary" and saved["params"]["region"] == "north"
assert (saved["params"]["start_date"], saved["params"]["end_date"]) == ("2026-01-01",
                                                                      "2026-03-31")

swapped = {**q1_body, "params": {**q1_body["params"], "start_date": "2026-03-31",
                                 "end_date": "2026-01-01"}}
refused = api.post("/reports", json=swapped, headers=auth)
assert refused.status_code == 422
assert [e["field"] for e in refused.json()["errors"]] == [swapped_field], "not that field"
labkit.passed("Right request, and the right prediction.")

# %% [markdown]
# ## 8. Clean up
#
# Our reports finish on their own; we wait until they have, so that nothing this notebook
# started is still running, and close the HTTP clients. The token simply expires.

# %%
with labkit.Learner(email, token["access_token"], cfg) as ada:
    finished = [ada.wait_for_status(item["id"])["status"] for item in ada.reports()]
print("all finished:", set(finished) == {"DONE"})
api.close()

# %% [markdown]
# **Next:** lesson 03 looks at the broker, where the relay puts the job you just submitted.
