from core.llm.local import EMBEDDED_REQUEST_DEFAULTS
from core.writing.prompts import (
    CHINESE_LABELS,
    ENGLISH_LABELS,
    Exchange,
    estimate_tokens,
    render_chat_messages,
    render_completion_prompt,
    trim_history,
)


def test_estimate_counts_cjk_characters_and_words():
    assert estimate_tokens("春天来了") == 4
    assert estimate_tokens("Spring is here.") == 4


def test_trim_keeps_the_most_recent_exchanges_within_budget():
    history = [Exchange(f"instruction {i}", "word " * 20) for i in range(10)]
    kept = trim_history(history, "new instruction", budget_tokens=60)
    assert kept == history[-2:]
    assert trim_history(history, "x", budget_tokens=5) == []


def test_completion_prompt_ends_open_for_an_instruction():
    prompt = render_completion_prompt([Exchange("Write A", "Text A.")], "Write B")
    assert prompt == "Task: Write A\n\nAnswer:\nText A.\n\nTask: Write B\n\nAnswer:\n"


def test_chinese_prompt_uses_chinese_labels():
    prompt = render_completion_prompt([], "写一段关于春天的短文")
    assert prompt == "题目：写一段关于春天的短文\n\n正文：\n"


def test_continue_ends_with_the_previous_text():
    history = [Exchange("Write A", "Once upon a time"), Exchange("Continue", " there was a fox", "continue")]
    prompt = render_completion_prompt(history, "Continue the previous text", "continue")
    assert prompt.endswith("Answer:\nOnce upon a time there was a fox")


def test_chat_messages_carry_the_turns():
    messages = render_chat_messages([Exchange("Write A", "Text A.")], "Write B")
    assert [(m.role, m.content) for m in messages[1:]] == [
        ("user", "Write A"), ("assistant", "Text A."), ("user", "Write B"),
    ]


def test_no_label_ends_in_a_space_and_the_embedded_model_stops_at_each_next_instruction():
    # a trailing space would tokenize with the draft's first word in the next turn: the cache breaks there
    for labels in (ENGLISH_LABELS, CHINESE_LABELS):
        assert not labels.answer.endswith(" ") and labels.answer.endswith("\n")
        assert any(stop in BLOCK_START + labels.ask for stop in EMBEDDED_REQUEST_DEFAULTS["stop"]
                   for BLOCK_START in ("\n\n",))


def session(turns: int, words: int = 20) -> list[Exchange]:
    return [Exchange(f"instruction {i}" if i % 3 else f"第{i}段", "word " * words) for i in range(turns)]


def test_each_turn_prompt_starts_with_the_last_one_and_its_answer_across_languages():
    history = session(6)
    for n in range(1, len(history)):
        before = render_completion_prompt(history[:n - 1], history[n - 1].instruction)
        after = render_completion_prompt(history[:n], history[n].instruction)
        assert after.startswith(before + history[n - 1].text)
    assert "题目：第3段\n\n正文：\n" in after and "Task: instruction 4\n\nAnswer:\n" in after


def test_trimming_starts_at_the_same_turn_for_several_turns_and_keeps_half_the_budget():
    history = session(40)  # 26 estimated tokens an exchange
    budget = 300
    starts = []
    for n in range(1, len(history)):
        kept = trim_history(history[:n], history[n].instruction, budget)
        cost = sum(estimate_tokens(e.instruction) + estimate_tokens(e.text) + 4 for e in kept)
        assert kept == history[n - len(kept):n] and cost + estimate_tokens(history[n].instruction) <= budget
        assert cost >= budget // 2 - 26 or len(kept) == n
        starts.append(n - len(kept))
    assert starts == sorted(starts)
    moves = sum(a != b for a, b in zip(starts, starts[1:]))
    assert moves <= len(starts) // 5  # the old trimming moved on every turn once the budget was full


def test_one_exchange_longer_than_an_anchor_step_still_leaves_the_recent_ones():
    history = [Exchange("long", "word " * 200), Exchange("a", "b"), Exchange("c", "d")]
    assert trim_history(history, "e", budget_tokens=100) == history[1:]
