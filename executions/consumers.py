"""WebSocket consumers: one execution's live status, and the caller's own executions (for lists).

`/ws/executions/{id}/` answers a viewer of the execution with a snapshot read from PostgreSQL,
then forwards the run's events in `seq` order, and closes after the final state. The snapshot
says which `seq` it covers; events up to it are not forwarded, so none is seen twice. Events
arriving out of order (two processes publishing) are held until the missing one comes; a gap
that stays open is closed by a fresh snapshot. Access is checked again on every snapshot and
every `ACCESS_CHECK_S` seconds; a client that lost it is disconnected.

Close codes: 4401 not signed in (or the token expired), 4404 no such execution or not visible
(refused before the handshake completes), 4403 access lost while connected, 1000 the run ended.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.contrib.auth import get_user_model
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Q
from django.utils import timezone

from executions import live, selectors
from executions.models import ENDED_NODE_STATUSES, FINISHED_EXECUTION_STATUSES
from executions.serializers import ExecutionListSerializer, NodeRunSerializer

ACCESS_CHECK_S = 5.0
GAP_WAIT_S = 1.0
SNAPSHOT_LOG_LINES = 20

CLOSE_DONE = 1000
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404


class _LiveNodeSerializer(NodeRunSerializer):
    """A node run as live clients see it: like the node events, inputs and outputs stay behind the API."""

    class Meta(NodeRunSerializer.Meta):
        fields = [name for name in NodeRunSerializer.Meta.fields if name not in ("input", "output")]
        read_only_fields = fields


def _snapshot(*, user, execution_id: int) -> dict[str, Any] | None:
    """The execution as the user may see it now, or None when they may not."""
    # The live state first: every change numbered up to its seq was committed before it was
    # numbered, so the database read next shows it (and perhaps more, which events repeat).
    state = live.live_state(execution_id) or {}
    execution = selectors.execution_visible_to(user=user, pk=execution_id, defer=("definition",))
    if execution is None:
        return None
    runs = selectors.execution_node_runs(execution=execution).defer("input", "output")
    nodes = [{**node, "log": node["log"][-SNAPSHOT_LOG_LINES:]} for node in _LiveNodeSerializer(runs, many=True).data]
    body = dict(ExecutionListSerializer(execution).data)
    body["progress"] = {
        "finished": sum(1 for node in nodes if node["status"] in ENDED_NODE_STATUSES),
        "total": len(nodes),
    }
    published = state.get("execution") or {}
    if published.get("status") == execution.status:
        # What only the live state knows (why a pending run waits, its place in the queue).
        body |= {name: value for name, value in published.items() if name not in body}
    return {"type": "snapshot", "seq": state.get("seq", 0), "execution": body, "nodes": nodes}


def _credentials_valid(*, user, auth_token) -> bool:
    """The user still exists and is active, and the API token they connected with still holds."""
    if not get_user_model().objects.filter(pk=user.pk, is_active=True).exists():
        return False
    if auth_token is None:
        return True
    return (
        type(auth_token)
        .objects.filter(pk=auth_token.pk)
        .filter(Q(expiry__isnull=True) | Q(expiry__gt=timezone.now()))
        .exists()
    )


def _access(*, user, auth_token, execution_id: int) -> str | None:
    """The execution's status if the user may still watch it, else None."""
    if not _credentials_valid(user=user, auth_token=auth_token):
        return None
    execution = selectors.execution_visible_to(user=user, pk=execution_id, defer=("definition", "input", "output"))
    return None if execution is None else execution.status


class _LiveConsumer(AsyncJsonWebsocketConsumer):
    @classmethod
    async def encode_json(cls, content) -> str:
        return json.dumps(content, cls=DjangoJSONEncoder)

    async def websocket_receive(self, message) -> None:
        try:
            await super().websocket_receive(message)
        except ValueError:
            await self.send_json({"type": "error", "message": "Messages are JSON objects."})

    def _signed_in(self) -> bool:
        user = self.scope.get("user")
        return user is not None and user.is_authenticated

    async def _every(self, interval_s: float, check) -> None:
        while True:
            await asyncio.sleep(interval_s)
            if not await check():
                return


class ExecutionConsumer(_LiveConsumer):
    """`/ws/executions/{id}/`: snapshot, then the run's events in order, then close."""

    async def connect(self) -> None:
        self.execution_id = int(self.scope["url_route"]["kwargs"]["execution_id"])
        self.group = live.execution_group(self.execution_id)
        self.last_seq = 0
        self.held: dict[int, dict] = {}  # events that came before one numbered lower
        self.done = False
        self.lock = asyncio.Lock()
        self.gap_task: asyncio.Task | None = None
        self.watch_task: asyncio.Task | None = None
        self.ended_seen = False
        if not self._signed_in():
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        live.bind_loop(asyncio.get_running_loop())
        # Join before reading the snapshot: no change can fall between the two.
        await self.channel_layer.group_add(self.group, self.channel_name)
        snapshot = await database_sync_to_async(_snapshot)(user=self.scope["user"], execution_id=self.execution_id)
        if snapshot is None:
            await self.channel_layer.group_discard(self.group, self.channel_name)
            await self.close(code=CLOSE_NOT_FOUND)
            return
        await self.accept()
        async with self.lock:
            await self._send_snapshot(snapshot)
        if not self.done:
            self.watch_task = asyncio.create_task(self._every(ACCESS_CHECK_S, self._check_access))

    async def disconnect(self, code) -> None:
        self.done = True
        for task in (self.gap_task, self.watch_task):
            if task is not None and task is not asyncio.current_task():
                task.cancel()
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content, **kwargs) -> None:
        if not isinstance(content, dict) or content.get("type") != "snapshot":
            await self.send_json({"type": "error", "message": 'The only request is {"type": "snapshot"}.'})
            return
        async with self.lock:
            if not self.done:
                await self._resync(lost_access_code=CLOSE_FORBIDDEN)

    async def execution_events(self, message: dict) -> None:
        async with self.lock:
            if self.done:
                return
            for event in message["events"]:
                if event["seq"] > self.last_seq:
                    self.held[event["seq"]] = event
            await self._forward_in_order()

    # --- under self.lock ---------------------------------------------------------------------------

    async def _resync(self, *, lost_access_code: int) -> None:
        snapshot = await database_sync_to_async(_snapshot)(user=self.scope["user"], execution_id=self.execution_id)
        if snapshot is None:
            await self._close(lost_access_code)
            return
        await self._send_snapshot(snapshot)

    async def _send_snapshot(self, snapshot: dict) -> None:
        self.last_seq = max(self.last_seq, snapshot["seq"])
        self.held = {seq: event for seq, event in self.held.items() if seq > self.last_seq}
        await self.send_json(snapshot)
        if snapshot["execution"]["status"] in FINISHED_EXECUTION_STATUSES:
            await self._close(CLOSE_DONE)
            return
        await self._forward_in_order()

    async def _forward_in_order(self) -> None:
        while self.last_seq + 1 in self.held:
            self.last_seq += 1
            event = self.held.pop(self.last_seq)
            await self.send_json(event)
            if event["type"] == "execution" and event["status"] in FINISHED_EXECUTION_STATUSES:
                await self._close(CLOSE_DONE)
                return
        if self.held and (self.gap_task is None or self.gap_task.done()):
            self.gap_task = asyncio.create_task(self._close_gap(self.last_seq))

    async def _close_gap(self, waiting_after: int) -> None:
        await asyncio.sleep(GAP_WAIT_S)
        async with self.lock:
            self.gap_task = None
            if self.done or not self.held:
                return
            if self.last_seq == waiting_after:
                # The missing event is lost (a full channel, Redis trouble): start again from the truth.
                await self._resync(lost_access_code=CLOSE_FORBIDDEN)
            else:
                await self._forward_in_order()  # a newer gap: it gets its own wait

    async def _check_access(self) -> bool:
        async with self.lock:
            if self.done:
                return False
            status = await database_sync_to_async(_access)(
                user=self.scope["user"], auth_token=self.scope.get("auth_token"), execution_id=self.execution_id
            )
            if status is None:
                await self._close(CLOSE_FORBIDDEN)
                return False
            if status in FINISHED_EXECUTION_STATUSES:
                # Ended without its final event reaching us (lost, or nobody published it): a check
                # later, so an event already on its way wins, the final snapshot closes the stream.
                if self.ended_seen:
                    await self._resync(lost_access_code=CLOSE_FORBIDDEN)
                self.ended_seen = True
            return not self.done

    async def _close(self, code: int) -> None:
        if self.done:
            return
        self.done = True
        if self.gap_task is not None and self.gap_task is not asyncio.current_task():
            self.gap_task.cancel()
        with contextlib.suppress(Exception):
            await self.channel_layer.group_discard(self.group, self.channel_name)
        await self.close(code=code)


class OwnExecutionsConsumer(_LiveConsumer):
    """`/ws/executions/`: the execution events of every run the caller owns, as they happen.

    Only `execution` events (status, waiting reason, error); each carries its run's `seq`, which
    orders the events of one run (node events are not sent here, so the numbers have gaps).
    """

    async def connect(self) -> None:
        self.watch_task: asyncio.Task | None = None
        if not self._signed_in():
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.group = live.user_group(self.scope["user"].pk)
        live.bind_loop(asyncio.get_running_loop())
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        self.watch_task = asyncio.create_task(self._every(ACCESS_CHECK_S, self._check_credentials))

    async def disconnect(self, code) -> None:
        if self.watch_task is not None and self.watch_task is not asyncio.current_task():
            self.watch_task.cancel()
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content, **kwargs) -> None:
        await self.send_json({"type": "error", "message": "This stream takes no requests."})

    async def execution_events(self, message: dict) -> None:
        for event in message["events"]:
            await self.send_json(event)

    async def _check_credentials(self) -> bool:
        valid = await database_sync_to_async(_credentials_valid)(
            user=self.scope["user"], auth_token=self.scope.get("auth_token")
        )
        if not valid:
            await self.channel_layer.group_discard(self.group, self.channel_name)
            await self.close(code=CLOSE_UNAUTHENTICATED)
        return valid
