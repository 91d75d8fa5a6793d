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

# -- what people may type or upload (core.platform.text.check_text): the columns' lengths (core/models.py
# max_length, checked by tests/core/test_bad_input.py) and sensible ones for Text columns
PROJECT_NAME_MAX_CHARS = 200
PROJECT_DESCRIPTION_MAX_CHARS = 2_000
REFERENCE_MAX_CHARS = 50_000  # a reference is scored against every draft of its project
EDITED_TEXT_MAX_CHARS = REFERENCE_MAX_CHARS  # an edited draft may become a reference
REVIEW_REASON_MAX_CHARS = 2_000
COMMENT_MAX_CHARS = 5_000
POLICY_NOTE_MAX_CHARS = 500
PROVIDER_NAME_MAX_CHARS = 64
PROVIDER_BASE_URL_MAX_CHARS = 500
PROVIDER_MODEL_MAX_CHARS = 200
STOP_SEQUENCE_MAX_CHARS = 200

ROLES = ("writer", "reviewer", "editor", "admin")

METRICS = ("bleu", "chrf", "rouge1", "rouge2", "rougeL")
# METRICS route drafts; ROUGE-Lsum is scored and shown for drafts of several sentences only.
METRIC_LABELS = {
    "bleu": "BLEU",
    "chrf": "chrF",
    "rouge1": "ROUGE-1",
    "rouge2": "ROUGE-2",
    "rougeL": "ROUGE-L",
    "rougeLsum": "ROUGE-Lsum",
}
# BLEU and chrF are on 0-100, ROUGE F1 on 0-1.
METRIC_MAX = {"bleu": 100.0, "chrf": 100.0, "rouge1": 1.0, "rouge2": 1.0, "rougeL": 1.0, "rougeLsum": 1.0}
# None: the metric does not route drafts until an editor enables it.
DEFAULT_THRESHOLDS: dict[str, float | None] = {
    "bleu": None,
    "chrf": 25.0,
    "rouge1": None,
    "rouge2": None,
    "rougeL": 0.2,
}

# -- the API core (core/llm): retries, streams, task-style providers -------------------------
MAX_RETRIES = 2  # retries after the first try: 3 tries in all
RETRY_INITIAL_DELAY_S = 0.5
RETRY_MAX_DELAY_S = 8.0
RETRY_JITTER = 0.25  # each backoff wait is shortened by up to this fraction, at random
RETRY_AFTER_CEILING_S = 60.0  # a provider asking to wait longer than this is not retried
STREAM_IDLE_TIMEOUT_S = 60.0  # a stream that sends no text for this long (after its first bytes) is cut off
STREAM_DEADLINE_S = 600.0  # a streamed answer not finished this long after it was asked for is cut off
TASK_POLL_INTERVAL_S = 1.0
TASK_DEADLINE_S = 600.0
HTTP_POOL_CONNECTIONS = 64  # kept-alive connections too: httpcore reconnects above its keep-alive cap

# -- rate limits, cache, batches, variants, jobs ----------------------------------------------
USER_RATE_LIMIT = 30  # generation requests per user per window; 0 turns the limit off
USER_RATE_WINDOW_S = 60.0
CACHE_TTL_S = 7 * 24 * 3600
MAX_BATCH_CONCURRENCY = 32
MAX_VARIANTS = 32
JOB_WORKERS = 4
QUICK_JOB_WORKERS = 2  # for quick job kinds (scoring a draft), apart from the JOB_WORKERS
GENERATION_WORKERS = 32  # threads writing drafts in one process (mostly waiting on providers)
MAX_RUNNING_GENERATIONS = 4  # turns a user may have being written at once (DRAFTGATE_MAX_RUNNING_GENERATIONS)
GENERATION_WAIT_POLL_S = 0.5  # a draft queued behind an earlier one looks again this often (at most)
JOB_HEARTBEAT_S = 5.0
CANCEL_POLL_S = 0.2  # how often a process reads the cancel flags of its running generations (one query for all)
JOB_STALE_AFTER_S = 60.0  # a running job without a heartbeat for this long belongs to a stopped app
DRAFT_HEARTBEAT_S = 10.0  # how often a process marks the drafts it is writing as alive
DRAFT_STALE_AFTER_S = 60.0  # a "generating" draft without a heartbeat this long lost its writer

# -- live text of drafts being written (core.jobs.live) ------------------------------------------
LIVE_RETAIN_S = 60.0  # a finished draft's live text stays this long for late watchers (then: the database)
LIVE_IDLE_S = 900.0  # live text (and a Stop request) nobody published to this long is dropped
LIVE_STREAM_MAXLEN = 1_000  # Redis stream entries kept per draft (about); a watcher further behind re-reads
LIVE_STOP_POLL_S = 0.2  # how often a process writing drafts asks Redis whether one was stopped
LIVE_REDIS_RETRY_S = 5.0  # after Redis failed, live text leaves it alone this long (watchers read the database)
LIVE_MAX_WAIT_S = 2.0  # the longest one blocking read waits (well under the Redis client's socket timeout)

# -- security and privacy: passwords, sign-in throttling, idle sessions, audit, retention -----
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024  # argon2 takes any length; this bounds the work one request can cause
SESSION_IDLE_MINUTES = 30  # a signed-in browser idle this long is signed out; 0: never
SESSION_MAX_HOURS = 12  # a sign-in ends this long after it began, however active
SESSION_TOUCH_S = 60  # a sign-in's last_seen is written at most this often
LOGIN_MAX_FAILURES = 5  # failed sign-ins per user name within the window before attempts wait
LOGIN_MAX_FAILURES_PER_ADDRESS = 20  # the same per client address (many users may share one)
LOGIN_WINDOW_MINUTES = 15  # failures count this long; the wait ends this long after the last one
AUDIT_QUERY_LIMIT = 5_000  # rows the audit page shows and exports at most per query

# -- review, thresholds from evidence, presets, moderation, dashboard -------------------------
QUEUE_LIMIT = 200  # review items a queue view lists at most
BULK_REVIEW_LIMIT = 100  # review items an editor may assign or decide in one action
POLICY_RECENT_DRAFTS = 500  # newest scored drafts a policy preview and the threshold evidence look at
RUBRIC_EVIDENCE_MARKS = 5_000  # newest rubric marks whose drafts' scores the evidence per rubric item reads
REROUTE_RECENT_DAYS = 7  # an accepted draft this recent joins the queue when a new policy fails it
PRESET_ANSWER_MAX_CHARS = 20_000
PRESET_KEY_MAX_CHARS = 2_000  # of a normalised instruction (the column's length)
PRESET_INSTRUCTION_MAX_CHARS = PRESET_KEY_MAX_CHARS  # a preset answers a short, frequent question
SENSITIVE_WORD_MAX_CHARS = 100
MASK_WIDE, MASK_NARROW = "＊", "*"  # a masked full-width (CJK) character, and any other
# Scoring reads at most this much of a draft and of each reference: 20,000 Chinese characters
# score in about 0.6 s on 2 cores (ROUGE-L grows quadratically), a 4 MB reference would take 20 s.
MAX_SCORED_CHARS = 20_000

# -- the HTTP API (api/, core.access.api_keys): keys, traffic control, idempotency ------------
API_QPS_LIMIT = 100.0  # requests per second per API key unless the key sets its own; 0: no limit
API_CONCURRENCY_LIMIT = MAX_BATCH_CONCURRENCY  # generations in flight per API key (a whole batch); 0: no limit
API_CONCURRENCY_LEASE_S = 60.0  # a generation slot not renewed this long belongs to a stopped process
API_TASK_SLOT_POLL_S = 0.5  # a task's generation slot comes free this soon after its job ends
API_KEY_NAME_MAX_CHARS = 100
API_KEY_ALLOWLIST_MAX_CHARS = 2_000
API_KEY_LAST_USED_INTERVAL_S = 60.0  # a key's last use is written at most this often
API_KEY_MAX_EXPIRES_DAYS = 3650
API_LIST_LIMIT, API_LIST_MAX_LIMIT = 20, 100  # objects per page of a list endpoint (default, most)
IDEMPOTENCY_KEY_MAX_CHARS = 255
IDEMPOTENCY_TTL_S = 24 * 3600  # a replay returns the first answer for this long
IDEMPOTENCY_STALE_S = STREAM_DEADLINE_S + 60.0  # a request still "running" this long lost its process
