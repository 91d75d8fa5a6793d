"""The data deletion interface: one's own data, and (admins) anyone's; the Account and Admin pages' cascade.

    GET me/export, DELETE me (the password confirms it)
    GET users/{username}/export, DELETE users/{username}    admins (never the last enabled admin)
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path

from api.access import require_area, runtime_of
from api.drafting import acting_user
from api.runtime import ApiRuntime
from api.schemas import NOT_FOUND, DeleteMeRequest, Deletion
from core.access.api_keys import ApiCaller
from core.platform.models import User
from core.usecases import accounts

router = APIRouter(tags=["privacy"])


@router.get("/me/export", summary="Everything stored about the key's user, as JSON")
def export_me(user: User = Depends(acting_user), runtime: ApiRuntime = Depends(runtime_of)) -> dict[str, Any]:
    return accounts.export_account(runtime.core, user)


@router.delete("/me", response_model=Deletion, summary="Delete the key's user and all their data (this key too)")
def delete_me(body: DeleteMeRequest, user: User = Depends(acting_user),
              runtime: ApiRuntime = Depends(runtime_of)) -> Deletion:
    report = accounts.delete_account(runtime.core, user, password=body.password)
    return Deletion(counts=report.counts(), warnings=list(report.warnings))


@router.get("/users/{username}/export", responses={404: NOT_FOUND}, summary="A user's data, as JSON (admins)")
def export_user(username: str = Path(max_length=64), caller: ApiCaller = Depends(require_area("admin")),
                runtime: ApiRuntime = Depends(runtime_of)) -> dict[str, Any]:
    return accounts.export_user(runtime.core, caller.user_id, username=username)


@router.delete("/users/{username}", response_model=Deletion, responses={404: NOT_FOUND},
               summary="Delete a user and all their data (admins)")
def delete_user(username: str = Path(max_length=64), caller: ApiCaller = Depends(require_area("admin")),
                runtime: ApiRuntime = Depends(runtime_of)) -> Deletion:
    report = accounts.delete_user(runtime.core, caller.user_id, username=username)
    return Deletion(counts=report.counts(), warnings=list(report.warnings))
