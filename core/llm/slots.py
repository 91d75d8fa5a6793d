"""Slot affinity: a writing session's requests go to the llama.cpp slot that holds its prompt cache.

A llama.cpp server keeps, per slot, the tokens it last read and wrote (`cache_prompt`); a request
whose prompt starts with them reads only the rest. A session's next turn starts with its previous
prompt and answer (core.writing.prompts keeps that prefix stable), so sending it to the same slot
(`id_slot`) makes its first token as quick on turn 10 as on turn 1.

    acquire(session)  the session's home slot when it is free; else a free slot (the one used
                      longest ago) becomes its home; ANY_SLOT when every slot is busy (the server
                      then picks one itself: waiting for the home slot would idle the others)
    release(slot)     the request has ended

One SlotAffinity per client (one embedded server per process, one client per provider: both
core.runtime's), so "busy" counts this process's requests, which are all the server gets.
"""

from __future__ import annotations

import threading
from collections import Counter, OrderedDict
from collections.abc import Hashable

ANY_SLOT = -1  # llama.cpp's "any slot"
MAX_HOMES = 10_000  # sessions remembered; the oldest is forgotten first


class SlotAffinity:
    def __init__(self, slots: int) -> None:
        self.slots = slots
        self._homes: OrderedDict[Hashable, int] = OrderedDict()
        self._busy: Counter[int] = Counter()
        self._last_used = [0] * slots
        self._uses = 0
        self._lock = threading.Lock()

    def acquire(self, session: Hashable) -> int:
        with self._lock:
            slot = self._homes.get(session)
            if slot is None or self._busy[slot]:
                free = [s for s in range(self.slots) if not self._busy[s]]
                if not free:
                    return ANY_SLOT
                slot = min(free, key=lambda s: self._last_used[s])
            self._homes[session] = slot
            self._homes.move_to_end(session)
            if len(self._homes) > MAX_HOMES:
                self._homes.popitem(last=False)
            self._busy[slot] += 1
            self._uses += 1
            self._last_used[slot] = self._uses
            return slot

    def release(self, slot: int) -> None:
        if slot == ANY_SLOT:
            return
        with self._lock:
            self._busy[slot] -= 1
