"""Tunables that belong together: timeouts, limits, leases, default thresholds."""

CONNECT_TIMEOUT_S = 5.0
READ_TIMEOUT_S = 120.0

EMBEDDED_CONTEXT_TOKENS = 2048
CONTEXT_BUDGET_TOKENS = 1024
MAX_PROMPT_CHARS = 20_000
MAX_TOKENS_LIMIT = 4096

CLAIM_LEASE_MINUTES = 30
PARTIAL_SAVE_INTERVAL_S = 0.5  # how often streamed text is written to the database

MAX_IMPORT_BYTES = 5 * 1024 * 1024

ROLES = ("writer", "reviewer", "editor", "admin")

METRICS = ("bleu", "chrf", "rouge1", "rouge2", "rougeL")
METRIC_LABELS = {
    "bleu": "BLEU",
    "chrf": "chrF",
    "rouge1": "ROUGE-1",
    "rouge2": "ROUGE-2",
    "rougeL": "ROUGE-L",
}
# BLEU and chrF are on 0-100, ROUGE F1 on 0-1.
METRIC_MAX = {"bleu": 100.0, "chrf": 100.0, "rouge1": 1.0, "rouge2": 1.0, "rougeL": 1.0}
# None: the metric does not route drafts until an editor enables it.
DEFAULT_THRESHOLDS: dict[str, float | None] = {
    "bleu": None,
    "chrf": 25.0,
    "rouge1": None,
    "rouge2": None,
    "rougeL": 0.2,
}
