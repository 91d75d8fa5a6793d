"""Account: your password, where you are signed in, all your data as one JSON file, and deleting your account."""

import streamlit as st

from core.access.privacy import export_json, summary
from core.access.signins import device_message
from core.platform import i18n
from core.usecases import accounts
from ui import auth
from ui.actions import run_use_case
from ui.forms import accepted, field, show_notice
from ui.i18n import _, remember_user_language, render, role_name, when
from ui.safe import md

EXPORT_KEY = "account.export"

user = auth.require_area("account")
this_sign_in = auth.current_sign_in().sign_in
st.title(_("Account"))
st.caption(_("Signed in as **{user}** ({role})").format(user=md(user.username), role=role_name(user.role)))

BROWSER = ""
# labels made here, not in format_func (AppTest calls that outside the script run, where no language is known)
choices = {BROWSER: _("As my browser (falls back to English)"), **{code: i18n.language_name(code) for code in i18n.languages()}}
chosen = st.selectbox(
    _("Language"), list(choices), index=list(choices).index(user.language) if user.language in choices else 0,
    format_func=choices.__getitem__, key="account.language",
)
if chosen != user.language and run_use_case(accounts.set_language, user, language=chosen):
    remember_user_language(chosen)
    st.rerun()

with st.form("account.password"):
    st.markdown(_("**Change your password**"))
    current = st.text_input(_("Current password"), type="password", max_chars=1024,
                            key=field("account.password", "current"))
    new = st.text_input(_("New password (at least 8 characters, not a common one)"), type="password", max_chars=1024,
                        key=field("account.password", "new"))
    repeated = st.text_input(_("New password again"), type="password", max_chars=1024,
                             key=field("account.password", "again"))
    if st.form_submit_button(_("Change password")):
        if new != repeated:
            st.error(_("The two new passwords differ."))
        elif run_use_case(accounts.change_password, user, old_password=current, new_password=new,
                          keep_sign_in_id=this_sign_in.id if this_sign_in else None):
            accepted("account.password", _("Your password is changed."))
show_notice("account.password")

st.subheader(_("Where you are signed in"))
done = run_use_case(accounts.list_sign_ins, user)
for sign_in in done.value if done else []:
    device, seen = st.columns([3, 1])
    here = this_sign_in is not None and sign_in.id == this_sign_in.id
    device.markdown(
        (_("**{device}** (this browser) · from {address} · last seen {seen} UTC") if here
         else _("**{device}** · from {address} · last seen {seen} UTC")).format(
            device=md(render(device_message(sign_in.user_agent))), address=md(sign_in.address or _("an unknown address")),
            seen=when(sign_in.last_seen_at, length="short"))
    )
    if seen.button(_("Sign out"), key=f"account.sign_out.{sign_in.id}"):
        if here:
            auth.sign_out()
            st.rerun()
        elif run_use_case(accounts.end_own_sign_in, user, sign_in_id=sign_in.id):
            st.rerun()
if st.button(_("Sign out everywhere"), key="account.sign_out_everywhere") and run_use_case(
    accounts.sign_out_everywhere, user
):
    auth.sign_out()
    st.rerun()

st.subheader(_("Your data"))
st.markdown(_(
    "Everything Draftgate keeps about you: your writing sessions with every turn, draft, score, "
    "review and comment, the comments and review decisions you wrote, and your audit events."
))
if st.button(_("Prepare my data export"), key="account.prepare_export") and (
    exported := run_use_case(accounts.export_account, user)
):
    st.session_state[EXPORT_KEY] = export_json(exported.value)
if EXPORT_KEY in st.session_state:
    st.download_button(
        _("Download my data (JSON)"), st.session_state[EXPORT_KEY], file_name=f"draftgate-{user.username}.json",
        mime="application/json", key="account.download",
    )

st.subheader(_("Delete your account"))
st.warning(_(
    "This deletes your account and all your data for good: sessions, drafts, scores, reviews and comments. "
    "Only an anonymous note that a deletion happened stays in the audit log."
))
with st.form("account.delete"):
    confirm_name = st.text_input(_("Type your user name to confirm"), max_chars=64)
    password = st.text_input(_("Your password"), type="password", max_chars=1024)
    if st.form_submit_button(_("Delete my account and all my data")):
        if confirm_name.strip() != user.username:
            st.error(_("Type your user name exactly to confirm."))
        elif deleted := run_use_case(accounts.delete_account, user, password=password):
            auth.sign_out(reason="deleted")
            st.session_state[auth.NOTICE_KEY] = _("Your account and data were deleted ({summary}).").format(
                summary=summary(deleted.value))
            st.rerun()
