"""OmniFlow Lab: a small, real multi-service backend to learn from.

The package holds one part per service: ``gateway`` (FastAPI), ``relay`` (the outbox
publisher), ``worker`` (the asyncio job consumer), ``logstore`` (MongoDB documents),
``launcher`` (the local stack), ``client`` (ipywidgets) and ``monitor`` (Bokeh).
``settings`` and ``contracts`` are shared by all of them.
"""

__version__ = "0.1.0"
