"""What a node's run function is handed by the engine, and how it reports failure or a pause.

The engine (in `executions/`) implements `NodeContext`; node types only see this protocol, so
no node imports the engine.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol


class NodeError(Exception):
    """An expected failure of a node (bad response, refused address, …): its message is shown to the user."""


@dataclass
class Park(Exception):
    """Raised by a node that must wait long: the engine frees the worker and resumes the run at `until`."""

    until: datetime


class NodeContext(Protocol):
    execution_id: int
    node_id: str
    # The outputs of the node's parents whose edges were followed, by parent id.
    input: dict[str, Any]
    # Networks `http_request` may reach although private or loopback (STRUCTFORGE_HTTP_ALLOWED_NETWORKS).
    http_allowed_networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]
    # The longest delay a node may sleep through in place; a longer one parks the run.
    park_threshold_s: float

    def log(self, message: str) -> None:
        """Append a line to the node run's bounded log."""

    def cancelled(self) -> bool:
        """True once the execution was asked to stop or the node's time is up."""

    def wait(self, seconds: float) -> bool:
        """Sleep up to `seconds`; False when woken early because `cancelled()` became true."""

    def park(self, *, seconds: float) -> None:
        """Return at once if this node was parked before and its time has come; otherwise raise `Park`."""

    def run_subworkflow(self, *, workflow_id: int, input: dict[str, Any]) -> Any:
        """Run another workflow the caller may execute, wait for it and return its output.

        Raises NodeError when it cannot be run (not found, not allowed, too deep) or failed.
        """
