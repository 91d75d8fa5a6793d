"""Msgids of labels defined in core modules that do not mark them yet (core.gate.rules.REASON_LABELS,
core.scoring.checks.CHECK_LABELS), so the catalogs have them; shown through ui.i18n._ like any text.
tests/pages/test_i18n_catalogs.py checks this list keeps up with those tables."""

from __future__ import annotations

from core.platform.i18n import N_

CORE_LABELS = (
    N_("score below threshold"), N_("project has no reference"), N_("empty draft"), N_("no comparable tokens"),
    N_("sensitive words"), N_("repetition"), N_("longest repeated span"), N_("distinct-1"), N_("distinct-2"),
    N_("length"), N_("language"), N_("echo of the instruction"), N_("stock refusal or filler"),
)
