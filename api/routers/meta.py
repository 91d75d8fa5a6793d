"""GET health: no key needed (load balancers ask it)."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from sqlalchemy import text

from api.access import runtime_of
from api.runtime import ApiRuntime
from api.schemas import Health

router = APIRouter()


@router.get("/health", response_model=Health, responses={503: {"model": Health}}, tags=["meta"],
            summary="Is this server able to answer? (no key needed)")
def health(runtime: ApiRuntime = Depends(runtime_of)) -> JSONResponse:
    try:
        with runtime.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception:  # any failure to reach the database (busy, down, refused) means: not ready
        return JSONResponse(Health(status="unavailable", database="unavailable").model_dump(), status_code=503)
    return JSONResponse(Health(status="ok", database="ok").model_dump())
