"""The lab's end-user client: ipywidgets that talk to the gateway like a web front end would.

Display ``ClientApp()`` in a notebook cell to sign up, log in, submit reports and watch them
run. ``GatewayApi`` is the same HTTP client without widgets, for scripts and for the monitor.
"""

from omniflow.client.app import ClientApp
from omniflow.client.background import Background
from omniflow.client.gateway_api import GatewayApi
from omniflow.client.load import submit_many, wait_for_all
from omniflow.client.problems import ApiError, FieldProblem, GatewayUnreachable
from omniflow.client.report import Report, ReportPage
from omniflow.client.report_watch import follow_report
from omniflow.client.stack_check import StackNotReady, require_gateway
from omniflow.client.validation import CheckedParams, check_params

__all__ = [
    "ApiError",
    "Background",
    "CheckedParams",
    "ClientApp",
    "FieldProblem",
    "GatewayApi",
    "GatewayUnreachable",
    "Report",
    "ReportPage",
    "StackNotReady",
    "check_params",
    "follow_report",
    "require_gateway",
    "submit_many",
    "wait_for_all",
]
