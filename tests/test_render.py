"""What the conversation pane shows for stored and live answers (pure functions, no gradio)."""

import time
from types import SimpleNamespace

from workspace.ui import render


def message(role, content, status="ok", error=None, meta=None, model=None):
    return SimpleNamespace(role=role, content=content, status=status, error=error, meta=meta or {}, model=model)


def test_stopped_and_failed_answers_say_so_and_offer_regenerate():
    shown = render.chatbot_messages([
        message("user", "q"),
        message("assistant", "partial", status="stopped"),
        message("user", "q2"),
        message("assistant", "", status="failed", error="Ollama is not reachable at x"),
    ])
    assert shown[0] == {"role": "user", "content": "q"}
    assert shown[1]["content"].startswith("partial") and "Stopped" in shown[1]["content"]
    assert "Ollama is not reachable at x" in shown[3]["content"] and "Regenerate" in shown[3]["content"]


def test_left_out_history_is_visible():
    shown = render.chatbot_messages([message("assistant", "a", meta={"dropped_messages": 4})])
    assert "4 older message(s) were left out" in shown[0]["content"]


def test_a_live_answer_replaces_the_last_assistant_bubble():
    history = [{"role": "user", "content": "q"}, {"role": "assistant", "content": "…"}]
    live = render.with_live_answer(history, "Hel", "streaming", None)
    assert live == [{"role": "user", "content": "q"}, {"role": "assistant", "content": "Hel"}]
    assert render.with_live_answer(history[:1], "", "streaming", None)[-1]["content"] == "…"


def test_a_live_answer_keeps_the_note_that_another_model_answers():
    history = [{"role": "user", "content": "q"}, {"role": "assistant", "content": "…"}]
    stored = [message("user", "q"), message("assistant", "", model="qwen2.5-coder:0.5b",
                                             meta={"model_asked": "llama3.1:8b"})]
    live = render.with_live_answer(history, "Hel", "streaming", None, stored)[-1]["content"]
    assert live.startswith("Hel") and "answered by `qwen2.5-coder:0.5b`: `llama3.1:8b` is not installed" in live


def test_pinned_chats_are_marked():
    chats = [SimpleNamespace(id="a", title="T", pinned=True), SimpleNamespace(id="b", title="", pinned=False)]
    assert render.chat_choices(chats) == [("★ T", "a"), ("New chat", "b")]


def test_row_of_counts_only_shown_bubbles():
    messages = [SimpleNamespace(id="s", role="system"), SimpleNamespace(id="u", role="user"),
                SimpleNamespace(id="a", role="assistant")]
    assert render.row_of(messages, "a") == 1 and render.row_of(messages, "missing") == 0


def test_a_user_bubble_folds_its_text_files_escaped():
    message = SimpleNamespace(id="a" * 16, role="user", content="Why?", images=[], analysis="",
                              attachments=[SimpleNamespace(name="x<y>.py", text="if a < b:\n    pass")])
    shown = render.user_text(message, "b" * 16)
    assert shown.startswith("Why?\n\n<details><summary>File: x&lt;y&gt;.py (2 lines)</summary>")
    assert "<pre>if a &lt; b:\n    pass</pre>" in shown


def test_a_chat_list_entry_has_marks_time_and_a_one_line_preview():
    now = time.mktime((2026, 12, 2, 15, 0, 0, 0, 0, -1))
    chat = SimpleNamespace(id="a", title="Plans", pinned=True, kind="chat", updated_at=now - 3600,
                           preview="first line\nsecond   line")
    assert render.chat_entry(chat, answering=True, now=now) == "● ★ Plans · 14:00\nfirst line second line"
    older = SimpleNamespace(id="b", title="", pinned=False, kind="study", updated_at=now - 40 * 86400, preview="")
    assert render.chat_entry(older, now=now) == "Study · New chat · 23 Oct 15:00"
    assert render.chat_list_choices([chat, older], {"b"})[1][0].startswith("● Study")
    assert render.short_time(now - 400 * 86400, now) == "28 Oct 2025" and render.short_time(None) == ""


def test_an_answer_says_when_and_by_which_model():
    answer = SimpleNamespace(role="assistant", content="hi", status="ok", error=None, meta={}, model="m<1>",
                             created_at=time.mktime((2026, 12, 2, 9, 5, 0, 0, 0, -1)))
    shown = render.chatbot_messages([answer])[0]["content"]
    assert shown.startswith("hi") and "09:05" in shown and "m&lt;1&gt;" in shown and "answer-meta" in shown
    assert "answer-meta" not in render.chatbot_messages([message("assistant", "x")])[0]["content"]


def test_notes_use_no_emoji():
    shown = render.chatbot_messages([message("assistant", "", status="failed", error="boom"),
                                     message("assistant", "p", status="stopped", meta={"dropped_messages": 2})])
    text = "".join(m["content"] for m in shown)
    assert all(ord(ch) < 0x2100 or ch in "…—“”" for ch in text), text


def test_an_answer_cut_inside_a_code_block_closes_it_before_its_notes_and_footer():
    cut = SimpleNamespace(role="assistant", content="Here:\n```python\nclass Stack:\n    def push(self, x):",
                          status="stopped", error=None, meta={}, model="m", created_at=time.time())
    shown = render.chatbot_messages([cut])[0]["content"]
    after_code = shown.rsplit("```", 1)[1]  # what follows the last fence is outside any code block
    assert shown.count("```") == 2 and "Stopped" in after_code and "answer-meta" in after_code
    whole = "```python\nx = 1\n```\n\n  ```\nindented fence\n  ```"
    assert render.answer_text(whole, "ok", None) == whole  # closed blocks are left as they are


def test_an_answer_cut_inside_a_code_block_of_a_list_item_closes_it_inside_the_item():
    # Closed at the margin, the fence would end the list item and open a new block around the notes (seen when
    # a study answer hit its token limit inside an example).
    cut = "1. **`len()`**\n   ```python\n   len([1, 2])\n   ```\n\n2. **`max()`**\n   ```python\n  "
    assert render.closed_code(cut) == cut + "\n   ```"
