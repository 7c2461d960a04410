"""How long validate_definition takes on big definitions. Run: .venv/bin/python bench/validate.py

Shapes: a chain (n0 → n1 → … → n(k-1)) and a wide fan-out (one start → k-2 middles → one end),
of noop nodes. Prints a table; the numbers are recorded in docs/benchmarks.md.
"""

import json
import os
import statistics
import sys
import time
from itertools import pairwise
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "structforge.settings")

import django

django.setup()

from workflows.definition import DefinitionLimits, validate_definition  # noqa: E402 -- needs django.setup()

SIZES = (100, 1_000, 10_000)
REPETITIONS = 15
# The benchmark measures validation, not the caps: let every size through.
LIMITS = DefinitionLimits(max_nodes=10**6, max_edges=10**6, max_bytes=10**9)


def chain(count: int) -> dict:
    ids = [f"n{i}" for i in range(count)]
    return {
        "nodes": [{"id": node_id, "type": "noop"} for node_id in ids],
        "edges": [{"source": a, "target": b} for a, b in pairwise(ids)],
        "settings": {},
    }


def fan_out(count: int) -> dict:
    ids = [f"n{i}" for i in range(count)]
    start, middles, end = ids[0], ids[1:-1], ids[-1]
    return {
        "nodes": [{"id": node_id, "type": "noop"} for node_id in ids],
        "edges": [{"source": start, "target": m} for m in middles] + [{"source": m, "target": end} for m in middles],
        "settings": {},
    }


def timings_ms(definition: dict) -> list[float]:
    validate_definition(definition, limits=LIMITS)  # warm-up
    timings = []
    for _ in range(REPETITIONS):
        started = time.perf_counter()
        problems = validate_definition(definition, limits=LIMITS)
        timings.append((time.perf_counter() - started) * 1000)
        if problems:
            print(f"unexpected problems: {problems[:3]}", file=sys.stderr)
    return timings


def main() -> None:
    header = f"{'shape':<8} {'nodes':>7} {'edges':>7} {'bytes':>9} {'median ms':>10} {'best ms':>8} {'µs/node':>8}"
    print(header)
    print("-" * len(header))
    for shape, build in (("chain", chain), ("fan-out", fan_out)):
        for size in SIZES:
            definition = build(size)
            size_bytes = len(json.dumps(definition, separators=(",", ":")).encode())
            timings = timings_ms(definition)
            median = statistics.median(timings)
            print(
                f"{shape:<8} {size:>7,} {len(definition['edges']):>7,} {size_bytes:>9,} "
                f"{median:>10.1f} {min(timings):>8.1f} {median * 1000 / size:>8.1f}"
            )


if __name__ == "__main__":
    main()
