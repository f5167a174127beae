"""Celery and arq running the same job as our worker, for a side-by-side measurement.

Each contender runs from a virtual environment of its own (``venvs.ensure``): arq pins an older
``redis`` client than the project uses, so the two cannot share the project's environment.
"""
