"""Server-sent events: turn the lines of an event stream into events.

Follows the SSE rules that matter for OpenAI-compatible providers: `data:` lines (several
join with newlines), `event:` and `id:` lines, comment lines starting with `:`, and a blank
line that dispatches the event. llama.cpp reports a failure mid-stream as an `error: {...}`
line (a field, not an event name), so that field is read as an event named "error".
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

DONE = "[DONE]"


@dataclass(frozen=True)
class ServerSentEvent:
    data: str
    event: str = ""
    id: str = ""

    @property
    def is_done(self) -> bool:
        return self.data.strip() == DONE

    @property
    def is_error(self) -> bool:
        return self.event == "error"

    def json(self) -> Any:
        return json.loads(self.data)


class SSEDecoder:
    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self._event = ""
        self._id = ""
        self._data: list[str] = []

    def decode(self, line: str) -> ServerSentEvent | None:
        """Feed one line (without its line ending); return an event when a blank line ends one."""
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id":
            self._id = value
        elif name == "error":
            self._event = "error"
            self._data.append(value)
        return None

    def _dispatch(self) -> ServerSentEvent | None:
        if not self._data:
            self._reset()
            return None
        event = ServerSentEvent(data="\n".join(self._data), event=self._event, id=self._id)
        self._reset()
        return event

    def iter_events(self, lines: Iterable[str]) -> Iterator[ServerSentEvent]:
        """All events of a stream, including a last one that had no blank line after it."""
        for line in lines:
            event = self.decode(line.rstrip("\r\n"))
            if event is not None:
                yield event
        event = self._dispatch()
        if event is not None:
            yield event
