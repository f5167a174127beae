"""The HTTP gateway: accounts, report requests, live events and the admin API.

It saves each report request in PostgreSQL together with an outbox row and answers at once;
the outbox relay publishes the job to the broker and workers do the work. See
``docs/gateway.md`` for the API and the reasoning behind it.
"""
