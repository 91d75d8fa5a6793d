"""The use cases: what people and systems do with Draftgate, one function each. Every caller
uses these for its workflows (the pages, `python -m core`, the jobs, the HTTP API); reads
for display may query core directly.

    writing     start_turn, continue_turn, regenerate, start_variants (one TurnRequest), score_again
    jobs        job, cancel_job: what a page polls and stops
    sessions    create_session, rename_session, delete_session, choose_provider
    providers   add_provider, update_provider, remove_provider, check_provider
    accounts    users (create, role, disable, password), a user's data (export, delete), the own
                account (password, export, delete), the master key, retention, the first admin
    review      claim, claim_next, release, decide, comment, promote, queue, assign, bulk_decide
                (thin: core.review does the work)

Conventions, the same in every module:

    use_case(runtime, who, ..., *, inputs) -> a row or a small dataclass
      runtime     the process's core.runtime.Runtime (settings, engine, job runner, clients)
      who         `user: User` for what a signed-in person does; `actor_id: Actor` where the
                  system may act too (core.access.actors.SYSTEM: the command line, the seed)
      work        one database session per use case, opened and closed here, never handed back
      failure     a core.platform.errors.DraftgateError with a message fit for the user; nothing
                  half-done stays behind
"""
