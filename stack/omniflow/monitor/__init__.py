"""The lab's admin panel: live Bokeh charts of the stack, read through the admin API.

``AdminPoller`` collects one ``MonitorSnapshot`` per call; ``Dashboard`` draws snapshots;
``LiveMonitor`` streams them into a notebook; ``python -m omniflow.monitor`` serves the same
dashboard as a standalone Bokeh server app.
"""

from omniflow.monitor.admin_poller import AdminPoller
from omniflow.monitor.bokeh_server import make_server, monitor_app, serve
from omniflow.monitor.dashboard import DEFAULT_ROLLOVER, Dashboard
from omniflow.monitor.live_monitor import LiveMonitor, load_bokehjs
from omniflow.monitor.rates import Rates, RollingRates
from omniflow.monitor.snapshot import MonitorSnapshot, WorkerCounters

__all__ = [
    "DEFAULT_ROLLOVER",
    "AdminPoller",
    "Dashboard",
    "LiveMonitor",
    "MonitorSnapshot",
    "Rates",
    "RollingRates",
    "WorkerCounters",
    "load_bokehjs",
    "make_server",
    "monitor_app",
    "serve",
]
