"""The runner: drives one execution from its checkpoints to its end.

One worker runs one execution at a time. Nodes of types that only compute (noop, set,
condition, switch, merge, stop_error) run inline; nodes that wait on I/O or time run in a
bounded thread pool, so independent branches progress together. Node changes are written in
one statement per batch, fenced by the claim's attempt (`executions/checkpoints.py`): an I/O
node is written `running` before it starts and its result as soon as it ends; the results of
compute nodes, which have no side effects, go with the next write (the next I/O node, the
end, or at most CHECKPOINT_INTERVAL_S later). A second delivery of the same execution resumes
from those rows: finished I/O nodes are never run again; interrupted ones, and compute nodes
whose result was not written yet, run again (they only compute, so that is unobservable).
"""

from __future__ import annotations

import heapq
import json
import logging
import random
import threading
import time
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone
from pydantic import ValidationError

from executions import admission, checkpoints, dispatch, live
from executions.checkpoints import Claim, LostClaim, NodeChange
from executions.context import RunContext
from executions.heartbeats import heartbeats
from executions.models import Execution, ExecutionStatus, NodeRun, NodeRunStatus
from executions.planner import FAILED, RUNNING, SKIPPED, SUCCESS, TERMINAL, NodeState, Plan, plan_for
from workflows.expressions import ExpressionError, render
from workflows.nodes import NODE_TYPES
from workflows.nodes.context import NodeError, Park
from workflows.nodes.params import error_message
from workflows.selectors import owner_vouches_for, secret_values

logger = logging.getLogger(__name__)

CANCEL_CHECK_INTERVAL_S = 0.05
# The longest a compute node's result waits to be written (and shown to live clients).
CHECKPOINT_INTERVAL_S = 0.2
_ERROR_LIMIT = 4000


def work(execution_id: int | None = None, *, doorbell: str | None = None, redelivered: bool = False) -> int:
    """Run executions as admission control hands them out, until none may start now.

    Called by each wake-up message: the message says that there may be work, PostgreSQL says
    which. A wake-up rung for new runs clears its doorbell first (`dispatch`), so that every run
    committed before is found here and every later one rings again. A wake-up the broker
    delivers again (its worker died holding it) also looks for runs to resume, parked and due or
    left by a dead worker; the reaper sends wake-ups for those too, so a first delivery does not
    look. A wake-up naming an execution that no longer waits ends at once, and looks for runs to
    resume only when that one is. Returns how many executions this call ran.
    """
    if doorbell is not None:
        dispatch.answer(doorbell)
    if execution_id is not None:
        found = admission.wakeup_work(execution_id)
    else:
        found = admission.RESUMABLE_WORK if redelivered else admission.PENDING_WORK
    if found is None:
        return 0
    ran = 0
    if found == admission.RESUMABLE_WORK:
        while (claim := checkpoints.claim_resumable()) is not None:
            run_claimed(claim)
            ran += 1
    while (claim := admission.admit_next()) is not None:
        run_claimed(claim)
        ran += 1
    return ran


def answer_wakeup(execution_id: int | None = None, *, doorbell: str | None = None, redelivered: bool = False) -> int:
    """What a worker does with one wake-up message: `work`, then, for the wake-ups of new runs
    (a doorbell), `linger`, since more are likely to follow. Returns how many executions it ran."""
    ran = work(execution_id, doorbell=doorbell, redelivered=redelivered)
    return ran + linger() if doorbell is not None else ran


def linger() -> int:
    """Run what new submits bring while this worker process would otherwise be idle, for at most
    STRUCTFORGE_WORKER_LINGER_S. Returns how many it ran.

    Bounded because the process holds its Celery pool slot meanwhile: the worker's other messages
    (a delayed run due, a cancel, the periodic tasks) wait for the linger to end.
    """
    until = time.monotonic() + settings.STRUCTFORGE_WORKER_LINGER_S
    ran = 0
    while dispatch.wait_for_nudge(until):
        while (claim := admission.admit_next()) is not None:
            run_claimed(claim)
            ran += 1
    return ran


def run_claimed(claim: Claim) -> None:
    try:
        Runner(claim).run()
    except LostClaim:
        logger.warning("execution %s attempt %s was taken over by another worker", claim.execution_id, claim.attempt)
    except Exception as exc:  # a bug in the engine must end the run, not leave it to be retried forever
        logger.exception("execution %s failed inside the engine", claim.execution_id)
        try:
            checkpoints.finish(
                claim, status=ExecutionStatus.FAILED, error=f"Internal error: {exc.__class__.__name__}: {exc}"[:4000]
            )
        except LostClaim:
            return
        live.announce_finished(claim.execution_id, ExecutionStatus.FAILED)


@dataclass(order=True)
class _Retry:
    due: float
    node_id: str = field(compare=False)


@dataclass
class _Running:
    node_id: str
    attempt: int
    started: float
    deadline: float | None
    stop: threading.Event
    context: RunContext


@dataclass
class _Outcome:
    status: str  # success, failed or parked
    output: Any = None
    error: str = ""
    retryable: bool = True
    parked_until: datetime | None = None


class Runner:
    def __init__(self, claim: Claim) -> None:
        self.claim = claim
        # The workflow row is only needed for secrets: loaded then (most runs never read one).
        self.execution = claim.execution or Execution.objects.get(pk=claim.execution_id)
        # A version's definition never changes, so (workflow, version) names it for good.
        self.plan: Plan = plan_for(
            (self.execution.workflow_id, self.execution.workflow_version), self.execution.definition
        )
        self.states: dict[str, NodeState] = {}
        self.attempts: dict[str, int] = {}
        self.resume_at: dict[str, datetime] = {}
        self.logs: dict[str, list[str]] = {}
        self.ready: deque[str] = deque()
        self.retries: list[_Retry] = []
        self.running: dict[Future, _Running] = {}
        self.parked: dict[str, datetime] = {}
        self.changes: dict[str, NodeChange] = {}
        self.failure: tuple[str, str] | None = None
        self.secrets: dict[str, str] | None = None
        self.lost = threading.Event()
        self.cancel = threading.Event()
        # A pending run is cancelled where it waits, so a fresh claim has nothing to check yet;
        # a resumed one may have been woken up precisely to end it.
        self._last_cancel_check = time.monotonic() if claim.attempt == 1 else 0.0
        self._last_flush = time.monotonic()
        timeout_s = (self.execution.definition.get("settings") or {}).get("timeout_s")
        self.timeout_s = float(timeout_s or settings.STRUCTFORGE_EXECUTION_TIMEOUT_S)
        started_at = self.execution.started_at or timezone.now()
        self.deadline = time.monotonic() + max(0.0, self.timeout_s - (timezone.now() - started_at).total_seconds())

    # --- the loop ---------------------------------------------------------------------------------

    def run(self) -> None:
        live.publish_execution(
            execution_id=self.claim.execution_id, owner_id=self.execution.owner_id, status=ExecutionStatus.RUNNING
        )
        if self.claim.attempt > 1 or self.execution.retry_of_id is not None:
            # Only a resumed run or a retry (which reuses nodes that succeeded) has checkpoints.
            self._load_checkpoints()
        heartbeats.watch(self.claim, lost=self.lost, cancel=self.cancel)
        pool = ThreadPoolExecutor(max_workers=settings.STRUCTFORGE_NODE_THREADS, thread_name_prefix="node")
        try:
            self._loop(pool)
        finally:
            heartbeats.unwatch(self.claim)
            self._stop_running_nodes()
            pool.shutdown(wait=False, cancel_futures=True)

    def _loop(self, pool: ThreadPoolExecutor) -> None:
        self._apply_step(self.plan.step(self.states))
        while True:
            if self.lost.is_set():
                raise LostClaim(self.claim)
            if self.failure:
                return self._end_failed(*self.failure)
            if self._cancel_requested():
                return self._end_cancelled()
            if time.monotonic() >= self.deadline:
                return self._end_failed("", f"The execution timed out after {self.timeout_s:g} s.")
            self._start_due_retries()
            if self.ready:
                self._start(self.ready.popleft(), pool)
                continue
            if not self.running and not self.retries:
                if self.parked:
                    return self._park()
                return self._end_finished()
            self._flush()  # nothing to compute until a node ends: show what is done meanwhile
            self._wait_for_nodes()

    def _wait_for_nodes(self) -> None:
        now = time.monotonic()
        wake_times = [self.deadline, now + CANCEL_CHECK_INTERVAL_S * 20]
        wake_times += [retry.due for retry in self.retries[:1]]
        wake_times += [run.deadline for run in self.running.values() if run.deadline is not None]
        done, _ = wait(list(self.running), timeout=max(0.0, min(wake_times) - now), return_when=FIRST_COMPLETED)
        for future in done:
            run = self.running.pop(future)
            self._record(run, future.result())
        now = time.monotonic()
        for future, run in list(self.running.items()):
            if run.deadline is not None and now >= run.deadline:
                # A thread cannot be killed: the node is told to stop and its late result ignored.
                run.stop.set()
                del self.running[future]
                timeout_s = self.plan.node(run.node_id).get("timeout_s")
                self._record(run, _Outcome(FAILED, error=f"The node timed out after {timeout_s:g} s."))

    # --- starting and ending nodes ---------------------------------------------------------------

    def _start(self, node_id: str, pool: ThreadPoolExecutor) -> None:
        node = self.plan.node(node_id)
        node_type = NODE_TYPES[node["type"]]
        attempt = self.attempts.get(node_id, 0) + 1
        self.attempts[node_id] = attempt
        node_input = self.plan.node_input(node_id, self.states)
        stop = threading.Event()
        context = RunContext(
            execution_id=self.claim.execution_id,
            node_id=node_id,
            input=node_input,
            lines=self.logs.setdefault(node_id, []),
            stop=stop,
            resume_at=self.resume_at.get(node_id),
            run_subworkflow=self._run_subworkflow,
        )
        timeout_s = node.get("timeout_s")
        run = _Running(
            node_id=node_id,
            attempt=attempt,
            started=time.monotonic(),
            deadline=time.monotonic() + timeout_s if timeout_s else None,
            stop=stop,
            context=context,
        )
        self._change(
            NodeChange(
                node_id, NodeRunStatus.RUNNING, attempt=attempt, input=node_input, started_at=timezone.now(), error=""
            )
        )
        if node_type.blocking or timeout_s:
            # Written before side effects start, so a crash never hides that the node began.
            self._flush()
            self.running[pool.submit(self._execute, node, context)] = run
        else:
            self._record(run, self._execute(node, context))

    def _execute(self, node: dict, context: RunContext) -> _Outcome:
        node_type = NODE_TYPES[node["type"]]
        try:
            params = node_type.params.model_validate(self._rendered_params(node))
        except ExpressionError as exc:
            return _Outcome(FAILED, error=f"Expression error in params{_path(exc)}: {exc}", retryable=False)
        except ValidationError as exc:
            problems = "; ".join(f"params.{_loc(error['loc'])}: {error_message(error)}" for error in exc.errors())
            return _Outcome(FAILED, error=f"Invalid parameters after evaluation: {problems}", retryable=False)
        except NodeError as exc:  # e.g. secrets this version may not read
            return _Outcome(FAILED, error=str(exc), retryable=False)
        try:
            return _Outcome(SUCCESS, output=node_type.run(params, context))
        except Park as park:
            return _Outcome("parked", parked_until=park.until)
        except NodeError as exc:
            return _Outcome(FAILED, error=str(exc))
        except Exception as exc:  # a node's bug must fail the node, never the worker
            logger.exception("node %s of execution %s crashed", node["id"], self.claim.execution_id)
            return _Outcome(FAILED, error=f"{exc.__class__.__name__}: {exc}")
        finally:
            if threading.current_thread() is not threading.main_thread() and node_type.blocking:
                connection.close()

    def _record(self, run: _Running, outcome: _Outcome) -> None:
        node_id, context = run.node_id, run.context
        log = self._redact(context.lines)
        if outcome.status == "parked":
            self.parked[node_id] = outcome.parked_until
            self._change(NodeChange(node_id, NodeRunStatus.RUNNING, resume_at=outcome.parked_until, log=log))
            self._flush()
            return
        if outcome.status == FAILED and outcome.retryable and run.attempt < self._max_attempts(node_id):
            delay = self._backoff(node_id, run.attempt)
            context.log(f"Attempt {run.attempt} failed: {outcome.error}; retrying in {delay:.2f} s.")
            heapq.heappush(self.retries, _Retry(time.monotonic() + delay, node_id))
            self._change(
                NodeChange(
                    node_id, NodeRunStatus.RUNNING, error=self._redact(outcome.error), log=self._redact(context.lines)
                )
            )
            self._flush()
            return
        now = timezone.now()
        if outcome.status == SUCCESS:
            output = self._redact(outcome.output)
            self.states[node_id] = NodeState(SUCCESS, output)
            self._change(NodeChange(node_id, SUCCESS, output=output, set_output=True, finished_at=now, log=log))
        else:
            error = self._redact(outcome.error)[:_ERROR_LIMIT]
            continues = self.plan.node(node_id).get("on_error") == "continue"
            output = {"error": error} if continues else None
            self.states[node_id] = NodeState(FAILED, output)
            self._change(
                NodeChange(node_id, FAILED, output=output, set_output=True, error=error, finished_at=now, log=log)
            )
            if not continues:
                self.failure = (node_id, error)
        self._apply_step(self.plan.after(node_id, self.states))
        if NODE_TYPES[self.plan.node(node_id)["type"]].blocking:
            self._flush()  # a side effect happened: it must not happen again after a crash
        elif time.monotonic() - self._last_flush >= CHECKPOINT_INTERVAL_S:
            self._flush()

    def _apply_step(self, step) -> None:
        now = timezone.now()
        for node_id in step.skipped:
            self.states[node_id] = NodeState(SKIPPED)
            self._change(NodeChange(node_id, SKIPPED, finished_at=now))
        # A fatal failure was recorded when the node ended (or found in the checkpoints).
        if not self.failure:
            self.ready.extend(step.ready)

    def _start_due_retries(self) -> None:
        now = time.monotonic()
        while self.retries and self.retries[0].due <= now:
            self.ready.append(heapq.heappop(self.retries).node_id)

    def _max_attempts(self, node_id: str) -> int:
        retry = self.plan.node(node_id).get("retry") or {}
        return int(retry.get("max_attempts", 3)) if retry else 1

    def _backoff(self, node_id: str, attempt: int) -> float:
        retry = self.plan.node(node_id).get("retry") or {}
        delay = float(retry.get("delay_s", 1.0))
        ceiling = float(retry.get("max_delay_s", 60.0))
        if retry.get("backoff", "exponential") == "exponential":
            delay = delay * 2 ** (attempt - 1)
            # Full jitter on the exponential part: simultaneous failures do not retry in lockstep.
            delay = random.uniform(delay / 2, delay)
        return min(delay, ceiling)

    # --- params, secrets, sub-workflows ------------------------------------------------------------

    def _rendered_params(self, node: dict) -> dict:
        params = node.get("params") or {}
        text = _templated_text(params)
        if text is None:
            return params
        scope: dict[str, Any] = {"input": self.execution.input, "nodes": self._upstream_outputs(node["id"])}
        if "secrets" in text:
            scope["secrets"] = self._secret_values()
        return render(params, scope)

    def _upstream_outputs(self, node_id: str) -> dict[str, dict[str, Any]]:
        upstream, frontier = set(), list(self.plan.parents(node_id))
        while frontier:
            parent = frontier.pop()
            if parent not in upstream:
                upstream.add(parent)
                frontier.extend(self.plan.parents(parent))
        return {
            other: {"output": self.states[other].output}
            for other in upstream
            if other in self.states and self.states[other].status in (SUCCESS, FAILED)
        }

    def _secret_values(self) -> dict[str, str]:
        if self.secrets is None:
            if not owner_vouches_for(self.execution):
                raise NodeError(
                    "Secrets are only available to versions the workflow's owner saved or published; "
                    "ask the owner to publish this version."
                )
            self.secrets = secret_values(user=self.execution.owner)
        return self.secrets

    def _redact(self, value: Any) -> Any:
        if not self.secrets:
            return value
        from workflows.secrets import redact

        return redact(value, self.secrets.values())

    def _run_subworkflow(self, *, workflow_id: int, input: dict[str, Any]) -> Any:
        from executions.services import subworkflow_start

        child = subworkflow_start(parent=self.execution, workflow_id=workflow_id, input=input)
        run_claimed(Claim(execution_id=child.pk, attempt=child.attempt, execution=child))
        child.refresh_from_db(fields=["status", "output", "error"])
        if child.status != ExecutionStatus.SUCCESS:
            raise NodeError(f"Sub-workflow execution {child.pk} ended {child.status}: {child.error}".rstrip(": "))
        return child.output

    # --- writing ---------------------------------------------------------------------------------------

    def _change(self, change: NodeChange) -> None:
        pending = self.changes.get(change.node_id)
        if pending is not None:
            # Two changes to one node before a flush (started then ended inline): merge them.
            for name, value in vars(change).items():
                if name == "set_output":
                    pending.set_output = pending.set_output or value
                elif value is not None:
                    setattr(pending, name, value)
        else:
            self.changes[change.node_id] = change

    def _flush(self) -> None:
        self._last_flush = time.monotonic()
        if self.changes:
            changes, self.changes = list(self.changes.values()), {}
            checkpoints.write_nodes(self.claim, changes)
            self._publish_nodes(changes)

    def _publish_nodes(self, changes: list[NodeChange]) -> None:
        finished = sum(1 for state in self.states.values() if state.status in TERMINAL)
        live.publish_nodes(
            execution_id=self.claim.execution_id,
            owner_id=self.execution.owner_id,
            nodes=[change.as_event() for change in changes],
            finished=finished,
            total=len(self.plan.order),
        )

    def _load_checkpoints(self) -> None:
        for row in NodeRun.objects.filter(execution_id=self.claim.execution_id).values(
            "node_id", "status", "output", "attempt", "resume_at", "log"
        ):
            self.attempts[row["node_id"]] = row["attempt"]
            self.logs[row["node_id"]] = list(row["log"] or [])
            if row["resume_at"] is not None:
                self.resume_at[row["node_id"]] = row["resume_at"]
            if row["status"] in TERMINAL:
                self.states[row["node_id"]] = NodeState(row["status"], row["output"])
            elif row["status"] == RUNNING:
                # Interrupted with its worker: it runs again (at least once), its children wait.
                # The interrupted attempt counts, so a node that kills its worker cannot loop.
                self._change(NodeChange(row["node_id"], NodeRunStatus.PENDING))
        for node_id, state in self.states.items():
            if state.status == FAILED and self.plan.node(node_id).get("on_error") != "continue":
                self.failure = (node_id, "")

    def _cancel_requested(self) -> bool:
        now = time.monotonic()
        if not self.cancel.is_set() and now - self._last_cancel_check >= CANCEL_CHECK_INTERVAL_S:
            self._last_cancel_check = now
            if checkpoints.cancel_requested(self.claim):
                self.cancel.set()
        return self.cancel.is_set()

    def _stop_running_nodes(self) -> None:
        for run in self.running.values():
            run.stop.set()

    # --- ending --------------------------------------------------------------------------------------

    def _end(self, status: str, *, output: Any = None, error: str = "", error_node: str = "") -> None:
        self._stop_running_nodes()
        changes = list(self.changes.values())
        self.changes = {}
        checkpoints.finish(
            self.claim, status=status, output=output, error=error, error_node=error_node, node_changes=changes
        )
        self._publish_nodes(changes)
        live.publish_execution(
            execution_id=self.claim.execution_id,
            owner_id=self.execution.owner_id,
            status=status,
            error=error,
            error_node=error_node,
        )
        live.announce_finished(self.claim.execution_id, status, trigger=self.execution.trigger)

    def _end_finished(self) -> None:
        self._end(ExecutionStatus.SUCCESS, output=self.plan.execution_output(self.states))

    def _end_failed(self, node_id: str, error: str) -> None:
        message = f"Node '{node_id}' failed: {error}" if node_id else error
        self._end(ExecutionStatus.FAILED, error=message[:_ERROR_LIMIT], error_node=node_id)

    def _end_cancelled(self) -> None:
        self._end(ExecutionStatus.CANCELLED, error="Cancelled on request.")

    def _park(self) -> None:
        wake_at = min(self.parked.values())
        checkpoints.park(self.claim, wake_at=wake_at, node_changes=list(self.changes.values()))
        self.changes = {}
        dispatch.enqueue(self.claim.execution_id, priority=self.execution.priority, eta=wake_at)


def _templated_text(params: dict) -> str | None:
    """The params as text when any string in them holds `{{`, else None (nothing to render)."""
    text = json.dumps(params, separators=(",", ":")) if params else ""
    return text if "{{" in text else None


def _path(exc: ExpressionError) -> str:
    path = getattr(exc, "path", "") or ""
    if not path:
        return ""
    return path if path.startswith("[") else f".{path}"


def _loc(loc: tuple) -> str:
    return "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc).lstrip(".")
