"""Who may call: the transport, the allowlists, the key, the request rate, the role.

Every protected route depends on `authenticated`, which checks in this order and stops at the
first refusal:

    transport     HTTPS; plain HTTP only from this machine, or from a trusted
                  proxy (DRAFTGATE_TRUSTED_PROXIES) that says HTTPS in X-Forwarded-Proto   403 https_required
    address       DRAFTGATE_IP_ALLOWLIST, for the client's address (core.access.client_address)  403 ip_not_allowed
    key           Authorization: Bearer dg_... (core.access.api_keys.authenticate_key)            401 invalid_api_key
    key address   the key's own IP allowlist                                                     403 ip_not_allowed
    rate          the key's request rate (api.traffic); x-ratelimit-* on every answer after it   429 rate_limit_exceeded
    last use      written at most once a minute (the only write, and only for admitted requests)

so a refused request (403, 401, 429) costs a read of the key at most: no write, no model call.
`require_area(area)` adds the role check of core.access.roles (403 permission_denied), and
`generation_slot` a slot of the key's concurrency for as long as a generation runs (429
concurrency_limit_exceeded).
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from api.errors import ApiError
from api.middleware import RATE_DECISION
from api.runtime import ApiRuntime
from api.traffic import ConcurrencyCap, Lease
from core.access.allowlist import Network, address_allowed
from core.access.api_keys import ApiCaller, authenticate_key
from core.access.client_address import LOOPBACK, address_behind_uvicorn, client_address
from core.access.roles import require
from core.platform.db import open_session
from core.platform.errors import AuthenticationError
from core.platform.i18n import N_, Message

HTTPS_REQUIRED = N_("Use HTTPS: plain HTTP is accepted only from this machine, or from a trusted proxy that "
                  "says the client used HTTPS (X-Forwarded-Proto).")

bearer = HTTPBearer(auto_error=False, scheme_name="ApiKey",
                    description="An API key (`python -m core api-key create`): `Authorization: Bearer dg_...`.")


@dataclass(frozen=True)
class Origin:
    address: str  # the client's address (core.access.client_address.UNKNOWN when it cannot be told)
    secure: bool  # HTTPS to us, or the request never left this machine


def request_origin(
    peer: str | None, scheme: str, forwarded_for: Sequence[str], forwarded_proto: Sequence[str],
    trusted: Sequence[Network], uvicorn_trusted: Sequence[Network] | None,
) -> Origin:
    """Where a request comes from and whether it came over HTTPS (see the module's docstring).

    `uvicorn_trusted` None: `peer` and `scheme` are the connection's own (serve-api). Otherwise
    uvicorn may have rewritten both from X-Forwarded-* for peers in FORWARDED_ALLOW_IPS; its
    HTTPS is believed only when those peers are trusted proxies too."""
    if uvicorn_trusted is None:
        peer = peer or LOOPBACK
        address = client_address(peer, forwarded_for, trusted)
        said_https = _is_trusted(peer, trusted) and _last(forwarded_proto) == "https"
        return Origin(address, scheme == "https" or said_https or _is_loopback(address))
    address = address_behind_uvicorn(peer, forwarded_for, trusted, uvicorn_trusted)
    https = scheme == "https" and (not forwarded_proto or _within(uvicorn_trusted, trusted))
    return Origin(address, https or _is_loopback(address))


def origin_of(request: Request, runtime: ApiRuntime) -> Origin:
    settings = runtime.settings
    return request_origin(
        request.client.host if request.client else None, request.url.scheme,
        request.headers.getlist("x-forwarded-for"), request.headers.getlist("x-forwarded-proto"),
        settings.trusted_proxy_networks, runtime.uvicorn_trusted,
    )


# -- dependencies ---------------------------------------------------------------------------


def known_query_only(request: Request) -> None:
    """A query parameter the route does not take is an error (a typo such as `limt=5` would
    otherwise be ignored without a word)."""
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return
    known = _query_names(dependant)
    unknown = sorted(set(request.query_params) - known)
    if unknown:
        accepted = ", ".join(sorted(known)) or Message(N_("none"))
        raise ApiError(400, Message(N_("Unknown query parameter {name!r} (this path takes: {accepted})."),
                                    name=unknown[0], accepted=accepted), code="unknown_parameter", param=unknown[0])


def _query_names(dependant) -> set[str]:
    """The query parameters a route takes, its dependencies' included."""
    names, pending = set(), [dependant]
    while pending:
        current = pending.pop()
        names |= {field.alias for field in current.query_params}
        pending.extend(current.dependencies)
    return names


def runtime_of(request: Request) -> ApiRuntime:
    return request.app.state.runtime


def database(runtime: ApiRuntime = Depends(runtime_of)) -> Iterator[Session]:
    """One session per request, shared by every dependency and the route."""
    with open_session(runtime.engine) as session:
        yield session


def authenticated(
    request: Request,
    credentials: HTTPAuthorizationCredentials | None = Depends(bearer),
    session: Session = Depends(database),
    runtime: ApiRuntime = Depends(runtime_of),
) -> ApiCaller:
    origin = origin_of(request, runtime)
    if not origin.secure:
        raise ApiError(403, HTTPS_REQUIRED, code="https_required")
    if not address_allowed(origin.address, runtime.settings.ip_networks):
        raise _address_refused(origin.address)
    if credentials is None:
        raise ApiError(401, "Missing API key: send it as Authorization: Bearer dg_...", code="invalid_api_key",
                       headers={"WWW-Authenticate": "Bearer"})
    try:
        caller = authenticate_key(session=session, key=credentials.credentials)
    except AuthenticationError as err:
        raise ApiError(401, err.message, code="invalid_api_key", headers={"WWW-Authenticate": "Bearer"}) from None
    if not address_allowed(origin.address, caller.ip_networks):
        raise _address_refused(origin.address, of_key=True)
    decision = runtime.limiter.check(caller)
    setattr(request.state, RATE_DECISION, decision)
    if not decision.allowed:
        raise ApiError(429, Message(N_("Rate limit reached for this API key: at most {limit} requests every "
                                       "{window:g} s. Retry after {retry} s."), limit=decision.limit,
                                    window=decision.window_s, retry=decision.headers()["Retry-After"]),
                       code="rate_limit_exceeded")
    runtime.last_use.record(session=session, caller=caller)
    session.commit()  # the key's read ends (the last use may have been fresh): no connection is held while the route works
    return caller


def require_area(area: str):
    """A dependency: the caller, whose user's role may use `area` (core.access.roles.AREA_ROLES)."""

    def caller_in_area(caller: ApiCaller = Depends(authenticated)) -> ApiCaller:
        require(caller.role, area)
        return caller

    return caller_in_area


async def generation_slot(
    caller: ApiCaller = Depends(authenticated), runtime: ApiRuntime = Depends(runtime_of),
) -> AsyncIterator[Lease]:
    """A slot of the key's concurrency while the route runs, renewed so that it outlives no process."""
    cap = runtime.concurrency
    lease = await run_in_threadpool(cap.acquire, caller)
    if lease is None:
        raise concurrency_refused(cap, caller)
    renewing = asyncio.create_task(_keep(lease, cap.lease_s / 3))
    try:
        yield lease
    finally:
        renewing.cancel()
        await run_in_threadpool(lease.release)


def concurrency_refused(cap: ConcurrencyCap, caller: ApiCaller, wanted: int = 1) -> ApiError:
    """The 429 of a request that needs more of the key's generation slots than are free."""
    return ApiError(429, cap.refusal(caller, wanted), code="concurrency_limit_exceeded", headers={"Retry-After": "1"})


async def _keep(lease: Lease, every_s: float) -> None:
    while True:
        await asyncio.sleep(every_s)
        await run_in_threadpool(lease.renew)


# -- addresses ------------------------------------------------------------------------------


def _address_refused(address: str, *, of_key: bool = False) -> ApiError:
    which = Message(N_("this API key's IP allowlist")) if of_key else "DRAFTGATE_IP_ALLOWLIST"
    return ApiError(403, Message(N_("Requests from {address} are not accepted ({which})."), address=address,
                                 which=which), code="ip_not_allowed")


def _ip(address: str | None):
    try:
        return ipaddress.ip_address((address or "").strip().split("%")[0])
    except ValueError:
        return None


def _is_loopback(address: str) -> bool:
    ip = _ip(address)
    if ip is None:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    return ip.is_loopback or (mapped is not None and mapped.is_loopback)


def _is_trusted(address: str, trusted: Sequence[Network]) -> bool:
    return bool(trusted) and _ip(address) is not None and address_allowed(address, trusted)


def _within(inner: Sequence[Network], outer: Sequence[Network]) -> bool:
    return all(any(a.version == b.version and a.subnet_of(b) for b in outer) for a in inner)  # type: ignore[arg-type]


def _last(values: Sequence[str]) -> str:
    hops = [hop.strip().lower() for value in values for hop in value.split(",") if hop.strip()]
    return hops[-1] if hops else ""
