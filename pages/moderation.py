"""Sensitive words: the list every draft is scanned with; a hit sends the draft to review and is
masked while the draft streams."""

import streamlit as st

from core.platform.db import open_session
from core.review.context import mark_segments
from core.usecases import curation
from core.writing.moderation import active_matcher, list_words
from ui import auth, resources
from ui.actions import run_use_case
from ui.components import show_marked
from ui.forms import accepted, field, show_notice
from ui.i18n import _, ngettext, number
from ui.safe import md

user = auth.require_area("moderation")
engine = resources.engine()
st.title(_("Sensitive words"))
st.caption(_("Chinese and English words or phrases. Matching ignores case and full-width forms; a word starting or "
           "ending with a Latin letter or digit matches whole words only there."))

with st.form("moderation.add"):
    typed = st.text_area(_("Add words (one per line)"), height=100, key=field("moderation.add", "words"))
    if st.form_submit_button(_("Add"), type="primary"):
        added = run_use_case(curation.add_words, user.id, words=[w for w in typed.splitlines() if w.strip()])
        if added is not None:
            accepted("moderation.add", ngettext("Added {n} new word.", "Added {n} new words.", added.value).format(
                n=number(added.value)))
show_notice("moderation.add")

with st.expander(_("Import from a file (.txt: one word per line, # for comments; .csv: a 'word' column)")):
    upload = st.file_uploader(_("Word list"), type=["txt", "csv"], key="moderation.upload")
    if upload is not None and st.button(_("Import"), key="moderation.import"):
        added = run_use_case(curation.import_words, user.id, filename=upload.name, content=upload.getvalue())
        if added is not None:
            st.success(ngettext("Imported {n} new word.", "Imported {n} new words.", added.value).format(
                n=number(added.value)))

with open_session(engine) as db:
    words = list_words(session=db)
    matcher = active_matcher(session=db)
st.subheader(_("Listed words ({n})").format(n=number(len(words))))
if words:
    st.text(" · ".join(w.word for w in words[:500]) + (" …" if len(words) > 500 else ""))
    doomed = st.multiselect(_("Remove words"), [w.id for w in words], format_func={w.id: w.word for w in words}.get,
                            key="moderation.remove")
    if doomed and st.button(_("Remove selected"), key="moderation.delete"):
        if run_use_case(curation.delete_words, user.id, word_ids=doomed) is not None:
            st.rerun()
else:
    st.info(_("The list is empty: no draft is flagged or masked for its words."))

sample = st.text_area(_("Check a text"), key="moderation.check", height=100)
if sample:
    hits = matcher.scan(sample)
    if hits:
        st.warning(_("Found: {words}").format(words=md(", ".join(dict.fromkeys(h.word for h in hits)))))
        show_marked(mark_segments([(sample, False)], hits))
        st.caption(_("While streaming, the writer sees:"))
        st.text(matcher.mask(sample))
    else:
        st.success(_("No listed word in this text."))
