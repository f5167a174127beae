"""The local stack: ``omniflow up`` runs PostgreSQL, Redis, the log store and our services.

supervisord supervises the processes; this package decides what to run, in which order, and
when each part counts as healthy. Tests use the same object the command line uses::

    from omniflow.launcher import Stack

    stack = Stack.from_env()
    stack.stop("redis")
    stack.start("redis")
"""

from omniflow.launcher.config import LauncherSettings
from omniflow.launcher.errors import StackError
from omniflow.launcher.stack import ProcessStatus, Stack

__all__ = ["LauncherSettings", "ProcessStatus", "Stack", "StackError"]
