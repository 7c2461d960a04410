"""What long-running processes do about the garbage collector."""

import gc


def freeze_startup_objects() -> None:
    """Move every object alive now to the collector's permanent generation, which it never scans.

    What startup builds (modules, classes, settings, URL patterns, serializers) lives as long as
    the process, and a full collection scans every tracked object: 75 to 115 ms in a worker or web
    process, during which it runs nothing (timed with `gc.callbacks` under bench/ws_latency.py).
    That was the longest wait a live event met. Afterwards a full collection scans only what was
    made since. Called once a process is set up; the garbage made so far is collected first.
    """
    gc.collect()
    gc.freeze()
