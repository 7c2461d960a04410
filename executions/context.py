"""The engine's side of `workflows.nodes.context.NodeContext`: what one node run is handed."""

import ipaddress
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from django.conf import settings
from django.utils import timezone

from workflows.nodes.context import Park


@cache
def _allowed_networks(networks: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(network, strict=False) for network in networks)


class RunContext:
    def __init__(
        self,
        *,
        execution_id: int,
        node_id: str,
        input: dict[str, Any],
        lines: list[str],
        stop: threading.Event,
        resume_at: datetime | None,
        run_subworkflow: Callable[..., Any],
    ) -> None:
        self.execution_id = execution_id
        self.node_id = node_id
        self.input = input
        self.http_allowed_networks = _allowed_networks(tuple(settings.STRUCTFORGE_HTTP_ALLOWED_NETWORKS))
        self.park_threshold_s = settings.STRUCTFORGE_PARK_THRESHOLD_S
        # Shared by every attempt of the node, so retries and their reasons stay in one log.
        self.lines = lines
        self.parked_until: datetime | None = None
        self._stop = stop
        self._resume_at = resume_at
        self._run_subworkflow = run_subworkflow
        self._max_lines = settings.STRUCTFORGE_NODE_LOG_LINES

    def log(self, message: str) -> None:
        if len(self.lines) < self._max_lines:
            self.lines.append(str(message)[:2000])
        elif len(self.lines) == self._max_lines:
            self.lines.append("… (log truncated)")

    def cancelled(self) -> bool:
        return self._stop.is_set()

    def wait(self, seconds: float) -> bool:
        return not self._stop.wait(max(0.0, seconds))

    def park(self, *, seconds: float) -> None:
        now = timezone.now()
        if self._resume_at is not None:
            if now >= self._resume_at:
                return
            until = self._resume_at
        else:
            until = now + timedelta(seconds=seconds)
        self.parked_until = until
        raise Park(until=until)

    def run_subworkflow(self, *, workflow_id: int, input: dict[str, Any]) -> Any:
        return self._run_subworkflow(workflow_id=workflow_id, input=input)
