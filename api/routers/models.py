"""GET models: the models a request may name (the default provider and every registered one)."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from sqlmodel import Session

from api.access import authenticated, database, runtime_of
from api.runtime import ApiRuntime
from api.schemas import Model, ModelInfo, ModelList
from core.access.api_keys import ApiCaller
from core.llm.local import EMBEDDED_MODEL_NAME
from core.llm.registry import list_providers

router = APIRouter()
OWNER = "draftgate"


@router.get("/models", response_model=ModelList, tags=["models"],
            summary="The models a request may name: the default provider and every registered one")
def models(
    _caller: ApiCaller = Depends(authenticated), session: Session = Depends(database),
    runtime: ApiRuntime = Depends(runtime_of),
) -> ModelList:
    settings = runtime.settings
    if settings.uses_embedded_model:
        default = Model(id="embedded", created=0, owned_by=OWNER, draftgate=ModelInfo(
            provider="embedded", model=EMBEDDED_MODEL_NAME, api_style="completions", default=True))
    else:
        default = Model(id="configured", created=0, owned_by=OWNER, draftgate=ModelInfo(
            provider="configured", model=settings.llm_model, api_style=settings.llm_api_style, default=True))
    registered = [
        Model(id=view.name, created=0, owned_by=OWNER,
              draftgate=ModelInfo(provider=view.name, model=view.model, api_style=view.api_style, default=False))
        for view in list_providers(session=session, settings=settings)
    ]
    return ModelList(data=[default, *registered])
