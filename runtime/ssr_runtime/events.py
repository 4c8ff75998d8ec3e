"""The trainer's events: one JSON object per line on stdout (for the TypeScript driver) and in OUT/metrics.jsonl.

Events emitted before the metrics file is open (a resume warning, say) are
kept and written to it when it opens. Non-finite floats become null. Log
events are echoed to stderr as "[ssr-train] LEVEL: message".
"""

from __future__ import annotations

import json
import math
import sys
import time
from typing import Any, Callable, Dict, List, Optional

EventSink = Callable[[Dict[str, Any]], None]


def clean(v: Any) -> Any:
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if isinstance(v, dict):
        return {k: clean(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [clean(x) for x in v]
    return v


class Emitter:
    """Writes events as JSON lines to stdout (the driver) and OUT/metrics.jsonl."""

    def __init__(self, stream, on_event: Optional[EventSink] = None):
        self.stream = stream
        self.on_event = on_event
        self.file = None
        self.pending: List[str] = []
        self.t0 = time.time()

    def open(self, path: str, append: bool = False) -> None:
        self.file = open(path, "a" if append else "w", encoding="utf-8")
        for line in self.pending:
            self.file.write(line + "\n")
        self.pending = []
        self.file.flush()

    def emit(self, ev: Dict[str, Any]) -> Dict[str, Any]:
        ev = clean(ev)
        ev.setdefault("time", round(time.time(), 3))
        line = json.dumps(ev, separators=(",", ":"))
        if self.stream is not None:
            self.stream.write(line + "\n")
            self.stream.flush()
        if self.file is not None:
            self.file.write(line + "\n")
            self.file.flush()
        else:
            self.pending.append(line)
        if self.on_event is not None:
            self.on_event(ev)
        return ev

    def log(self, message: str, level: str = "info") -> None:
        self.emit({"type": "log", "level": level, "message": message})
        print(f"[ssr-train] {level}: {message}", file=sys.stderr, flush=True)

    def warn(self, message: str) -> None:
        self.log(message, "warn")

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None
