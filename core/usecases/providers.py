"""Providers an admin registers (keys encrypted at rest, never shown): add, edit, remove, check.

Which provider a name stands for, for a draft or a job, is the runtime's (Runtime.provider:
core.llm.registry.resolve_provider); the fields these take are core.llm.registry.add_provider's.
"""

from __future__ import annotations

from typing import Any

from core.access.actors import Actor, require_actor
from core.llm import registry
from core.platform.db import open_session
from core.runtime import Runtime


def add_provider(runtime: Runtime, actor_id: Actor, **fields: Any) -> registry.ProviderView:
    """Register a provider: name, base_url, model, api_style, api_key, default_params, qps_limit, tpm_limit."""
    with open_session(runtime.engine) as db:
        return registry.add_provider(session=db, settings=runtime.settings, actor_id=actor_id, **fields)


def update_provider(runtime: Runtime, actor_id: Actor, name: str, **changes: Any) -> registry.ProviderView:
    """Change what is given (new_name and add_provider's fields); `api_key=None` keeps the key, "" removes it."""
    with open_session(runtime.engine) as db:
        return registry.update_provider(session=db, settings=runtime.settings, name=name, actor_id=actor_id,
                                        **changes)


def remove_provider(runtime: Runtime, actor_id: Actor, name: str) -> None:
    with open_session(runtime.engine) as db:
        registry.remove_provider(session=db, name=name, actor_id=actor_id)


def list_providers(runtime: Runtime) -> list[registry.ProviderView]:
    """The registered providers, keys masked."""
    with open_session(runtime.engine) as db:
        return registry.list_providers(session=db, settings=runtime.settings)


def check_provider(runtime: Runtime, actor_id: Actor, name: str) -> registry.ProviderCheck:
    """Send the provider `name` a tiny request (no retries, no cache) and say how it went."""
    with open_session(runtime.engine) as db:
        require_actor(db, actor_id, "providers")
    return registry.check_provider(runtime.provider(name))
