"""Who is signed in: the IP allowlist gate, the sign-in cookie read each run, the role check every page makes.

Signing in and out of a browser happens in the server's routes (ui.sign_in_routes: they alone can
set and clear the cookie); a script run only reads the cookie's opaque token, sent with the page's
WebSocket, and asks core which sign-in it stands for (core.access.signins: idle and absolute
expiry, revocation). A reload, a new tab or a restart of the server keeps the user signed in;
signing out anywhere ends it for every tab at its next action.

    browser_token()     the cookie's token (tests replace this one function: AppTest sends no cookies)
    current_sign_in()   core.access.signins.Lookup for this browser; current_user() its user or None
    require_area(area)  the user, or the sign-in prompt / a refusal naming the roles needed, and stop
    sign_out()          end this browser's sign-in (the cookie stays, standing for nothing)

session_state keys (owned here): "auth.notice" (why the user was signed out, shown once on the
sign-in prompt).
"""

from __future__ import annotations

import os
from urllib.parse import urlencode

import streamlit as st

from core.access import signins
from core.access.allowlist import address_allowed
from core.access.client_address import address_behind_uvicorn, uvicorn_trusted_networks
from core.access.roles import AREA_ROLES, may
from core.platform.config import Settings
from core.platform.i18n import Translator
from core.platform.models import User
from core.platform.states import Role
from core.usecases import accounts
from ui import resources
from ui.i18n import N_, USER_LANGUAGE_KEY, _, ngettext, remember_user_language, role_name
from ui.page_map import page_path
from ui.safe import md

SESSION_COOKIE = "draftgate_session"
SIGN_IN_PATH, SIGN_OUT_PATH = "/auth/sign-in", "/auth/sign-out"
NOTICE_KEY = "auth.notice"
SIGNED_OUT = N_("You are signed out.")


def client_address() -> str:
    """The browser's address: X-Forwarded-For is believed only from DRAFTGATE_TRUSTED_PROXIES
    (core.access.client_address works back from what uvicorn, under Streamlit, reports of the peer)."""
    seen = st.context.ip_address
    return address_behind_uvicorn(
        seen if isinstance(seen, str) and seen else None,
        st.context.headers.get_all("X-Forwarded-For"),
        resources.settings().trusted_proxy_networks,
        uvicorn_trusted_networks(os.environ.get("FORWARDED_ALLOW_IPS")),
    )


def network_gate() -> None:
    """Refuse, with a page saying why, a visitor whose address is outside DRAFTGATE_IP_ALLOWLIST."""
    networks = resources.settings().ip_networks
    address = client_address()
    if address_allowed(address, networks):
        return
    st.title(_("Access refused"))
    st.error(refusal_message(address))
    st.stop()


def refusal_message(address: str, t: Translator | None = None) -> str:
    text = t.gettext if t is not None else _
    return text(
        "This Draftgate does not accept connections from your address ({address}). "
        "If you should have access, ask its administrator to add your network to DRAFTGATE_IP_ALLOWLIST."
    ).format(address=md(address))


def browser_token() -> str | None:
    """The sign-in cookie's token, as the browser sent it with this session's WebSocket."""
    return st.context.cookies.get(SESSION_COOKIE)


def ended_notice(ended: str, settings: Settings) -> str:
    """Why a browser that was signed in is not any more, for the sign-in prompt."""
    if ended == signins.IDLE:
        minutes = settings.session_idle_minutes
        return ngettext("You were signed out after {n} minute without activity.",
                        "You were signed out after {n} minutes without activity.", minutes).format(n=minutes)
    if ended == signins.EXPIRED:
        hours = int(settings.session_max_hours)
        return ngettext("Your sign-in reached its lifetime ({n} hour): sign in again.",
                        "Your sign-in reached its lifetime ({n} hours): sign in again.", hours).format(n=hours)
    if ended in (signins.REVOKED, signins.DISABLED):
        return _("You were signed out (here, in another tab, or by a change to your account).")
    return ""


def current_sign_in() -> signins.Lookup:
    """This browser's sign-in; when it has just ended, the reason is kept for the sign-in prompt."""
    found = accounts.look_up_sign_in(resources.runtime(), token=browser_token())
    remember_user_language(found.user.language if found.user is not None else None)
    if not found.signed_in and found.sign_in is not None and NOTICE_KEY not in st.session_state:
        st.session_state[NOTICE_KEY] = ended_notice(found.ended, resources.settings())
    return found


def current_user() -> User | None:
    """The signed-in, enabled user; None when signed out, disabled, idle or past the sign-in's lifetime."""
    return current_sign_in().user


def here(area: str | None) -> str:
    """This page's address (path and query, e.g. /write?session=12), to come back to after sign-in."""
    query = urlencode(st.query_params.to_dict())
    path = page_path(area) if area else "/"
    return f"{path}?{query}" if query else path


def sign_in_url(next_path: str) -> str:
    return f"{SIGN_IN_PATH}?{urlencode({'next': next_path})}"


def sign_in_prompt(area: str | None = None) -> None:
    """What a signed-out visitor sees on any page: why, and the way to the sign-in form (back here after)."""
    notice = st.session_state.get(NOTICE_KEY)
    if notice:
        st.info(notice)
    st.warning(_("Please sign in first."))
    st.link_button(_("Sign in"), sign_in_url(here(area)), type="primary")


def roles_needed(area: str) -> str:
    names = [role_name(role.value) for role in Role if role in AREA_ROLES[area]]
    if len(names) == 1:
        return names[0]
    return _("{first} or {last}").format(first=_(", ").join(names[:-1]), last=names[-1])


def require_area(area: str) -> User:
    """The signed-in user, if their address is allowed and their role may use `area`; otherwise
    the sign-in prompt or a refusal naming the roles this page needs, and stop."""
    network_gate()
    user = current_user()
    if user is None:
        sign_in_prompt(area)
        st.stop()
    if not may(user.role, area):
        st.title(_("Not for your role"))
        st.error(_("Your role ({role}) does not give access to this page: it needs the role {needed}.").format(
            role=role_name(user.role), needed=roles_needed(area)))
        st.stop()
    return user


def sign_out(reason: str = "sign_out") -> None:
    """End this browser's sign-in (every tab of it, at their next action), then forget this session's state."""
    accounts.end_sign_in(resources.runtime(), token=browser_token(), reason=reason)
    language = st.session_state.get(USER_LANGUAGE_KEY)  # the notice below still in the user's language
    for key in list(st.session_state.keys()):
        del st.session_state[key]
    remember_user_language(language)
    st.session_state[NOTICE_KEY] = _(SIGNED_OUT)
