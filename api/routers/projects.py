"""GET projects: the projects the key may use (its own project, or every one), a page at a time."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query
from sqlmodel import Session

from api.access import authenticated, database
from api.schemas import Project, ProjectList
from core.access.api_keys import ApiCaller, projects_for_key
from core.platform import constants

router = APIRouter()
MAX_ID = 2**31 - 1  # an INTEGER column: a larger cursor is refused, not sent to the database


@router.get("/projects", response_model=ProjectList, tags=["projects"], summary="The projects this key may use")
def projects(
    limit: int = Query(constants.API_LIST_LIMIT, ge=1, le=constants.API_LIST_MAX_LIMIT,
                       description="Projects per page."),
    after: int = Query(0, ge=0, le=MAX_ID, description="The last id of the previous page (0: from the start)."),
    caller: ApiCaller = Depends(authenticated), session: Session = Depends(database),
) -> ProjectList:
    rows, has_more = projects_for_key(session=session, caller=caller, after=after, limit=limit)
    data = [Project(id=row.id, name=row.name, description=row.description, created=int(row.created_at.timestamp()))
            for row in rows]
    return ProjectList(data=data, has_more=has_more, first_id=data[0].id if data else None,
                       last_id=data[-1].id if data else None)
