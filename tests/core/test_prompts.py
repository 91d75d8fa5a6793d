from core.writing.prompts import (
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
    assert prompt == "Instruction: Write A\nText: Text A.\n\nInstruction: Write B\nText: "


def test_chinese_prompt_uses_chinese_labels():
    prompt = render_completion_prompt([], "写一段关于春天的短文")
    assert prompt == "指令：写一段关于春天的短文\n回答："


def test_continue_ends_with_the_previous_text():
    history = [Exchange("Write A", "Once upon a time"), Exchange("Continue", " there was a fox", "continue")]
    prompt = render_completion_prompt(history, "Continue the previous text", "continue")
    assert prompt.endswith("Text: Once upon a time there was a fox")


def test_chat_messages_carry_the_turns():
    messages = render_chat_messages([Exchange("Write A", "Text A.")], "Write B")
    assert [(m.role, m.content) for m in messages[1:]] == [
        ("user", "Write A"), ("assistant", "Text A."), ("user", "Write B"),
    ]
