"""What editors and admins curate: projects and their references, preset answers, sensitive words.

    projects, references   create_project, add_reference, update_reference, delete_reference, import_references
    preset answers         add_preset, update_preset, delete_preset, import_presets
    sensitive words        add_words, delete_words, import_words

Thin: core.writing.projects, presets and moderation check the actor's role and do the work;
each use case here is one database session.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from core.access.actors import Actor
from core.platform.db import open_session
from core.platform.models import Preset, Project, Reference
from core.runtime import Runtime
from core.writing import moderation, presets, projects


def create_project(runtime: Runtime, actor_id: Actor, *, name: str, description: str = "") -> Project:
    with open_session(runtime.engine) as db:
        return projects.create_project(session=db, name=name, description=description, actor_id=actor_id)


def add_reference(runtime: Runtime, actor_id: Actor, *, project_id: int, text: str) -> Reference:
    with open_session(runtime.engine) as db:
        return projects.add_reference(session=db, project_id=project_id, text=text, actor_id=actor_id)


def update_reference(runtime: Runtime, actor_id: Actor, *, reference_id: int, text: str) -> Reference:
    with open_session(runtime.engine) as db:
        return projects.update_reference(session=db, reference_id=reference_id, text=text, actor_id=actor_id)


def delete_reference(runtime: Runtime, actor_id: Actor, *, reference_id: int) -> None:
    with open_session(runtime.engine) as db:
        projects.delete_reference(session=db, reference_id=reference_id, actor_id=actor_id)


def import_references(
    runtime: Runtime, actor_id: Actor, *, project_id: int, filename: str, content: bytes
) -> list[Reference]:
    """A CSV, JSONL or text file of references; a bad line is named and nothing is written."""
    with open_session(runtime.engine) as db:
        return projects.import_references(session=db, project_id=project_id, filename=filename, content=content,
                                          actor_id=actor_id)


def add_preset(runtime: Runtime, actor_id: Actor, *, project_id: int, instruction: str, answer: str,
               **options: Any) -> Preset:
    """`options`: min_similarity, source (core.writing.presets.add_preset)."""
    with open_session(runtime.engine) as db:
        return presets.add_preset(session=db, project_id=project_id, instruction=instruction, answer=answer,
                                  actor_id=actor_id, **options)


def update_preset(runtime: Runtime, actor_id: Actor, *, preset_id: int, **changes: Any) -> Preset:
    """`changes`: instruction, answer, min_similarity, enabled (None or absent: unchanged)."""
    with open_session(runtime.engine) as db:
        return presets.update_preset(session=db, preset_id=preset_id, actor_id=actor_id, **changes)


def delete_preset(runtime: Runtime, actor_id: Actor, *, preset_id: int) -> None:
    with open_session(runtime.engine) as db:
        presets.delete_preset(session=db, preset_id=preset_id, actor_id=actor_id)


def import_presets(
    runtime: Runtime, actor_id: Actor, *, project_id: int, filename: str, content: bytes
) -> presets.ImportResult:
    with open_session(runtime.engine) as db:
        return presets.import_presets(session=db, project_id=project_id, filename=filename, content=content,
                                      actor_id=actor_id)


def add_words(runtime: Runtime, actor_id: Actor, *, words: Iterable[str]) -> int:
    """Add sensitive words (one per item, duplicates skipped); return how many were new."""
    with open_session(runtime.engine) as db:
        return moderation.add_words(session=db, words=words, actor_id=actor_id)


def delete_words(runtime: Runtime, actor_id: Actor, *, word_ids: Iterable[int]) -> int:
    with open_session(runtime.engine) as db:
        return moderation.delete_words(session=db, word_ids=word_ids, actor_id=actor_id)


def import_words(runtime: Runtime, actor_id: Actor, *, filename: str, content: bytes) -> int:
    with open_session(runtime.engine) as db:
        return moderation.import_words(session=db, filename=filename, content=content, actor_id=actor_id)
