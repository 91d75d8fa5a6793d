"""What a process serving people does once, when it starts (the app; soon the API server).

    start(runtime)   the interface's catalogs compiled where a .po is newer than its .mo -> the database migrated (Runtime.engine) -> the first admin if there is no user
                     -> drafts left "generating" by a process that died marked interrupted -> the
                     job runner started (its heartbeat sweeps dead processes' work from then on)
                     -> what exists by then frozen out of the garbage collector's scans (_settle_heap)
"""

from __future__ import annotations

import gc

from core.platform import i18n
from core.platform.db import open_session
from core.runtime import Runtime
from core.usecases.accounts import ensure_first_admin
from core.writing.sessions import mark_stale_drafts_interrupted


def start(runtime: Runtime) -> str | None:
    """Returns the first admin's generated password, to be shown once on the console, if one was made."""
    i18n.compile_catalogs()
    generated = ensure_first_admin(runtime)
    with open_session(runtime.engine) as db:
        mark_stale_drafts_interrupted(session=db)
    runtime.job_runner  # noqa: B018 - made now: its start sweeps, then its heartbeat keeps sweeping
    _settle_heap()
    return generated


_heap_settled = False


def _settle_heap() -> None:
    """The objects of a started process (modules, classes, tables: ~150,000) live as long as it:
    frozen, no full collection walks them again. The first one did, 100-350 ms with the GIL held,
    in the middle of a writer's first turn. Once per process (the garbage of now collected first)."""
    global _heap_settled
    if not _heap_settled:
        _heap_settled = True
        gc.collect()
        gc.freeze()
