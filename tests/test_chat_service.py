"""Chat turns end to end: real store on a temp folder, real gateway, the embedded engine's real model."""

from types import SimpleNamespace

import pytest

from workspace.chat import ChatError, fit_history
from workspace.store import WorkspaceStore


def new_chat(services):
    profile = services.store.create_profile("Test")
    return services.store.create_chat(profile.id).id


def finish(services, chat_id):
    turn = services.chat.running(chat_id)
    if turn is not None:
        assert turn.finished.wait(120)
    return services.chat.messages(chat_id)


def test_send_streams_and_stores_a_real_answer(services, starter_model):
    chat_id = new_chat(services)
    services.chat.send(chat_id, "Say hello in one short sentence.")
    snapshots = list(services.chat.follow(chat_id))
    assert snapshots[-1].status == "ok" and snapshots[-1].text.strip()
    user, answer = finish(services, chat_id)
    assert (user.role, user.content) == ("user", "Say hello in one short sentence.")
    assert answer.status == "ok" and answer.content == snapshots[-1].text
    assert answer.model == starter_model and answer.stats["eval_count"] > 0
    assert services.store.get_chat(chat_id).title == "Say hello in one short sentence."


def test_user_text_is_stored_even_when_the_backend_is_down(services, unused_port_url):
    chat_id = new_chat(services)
    services.backend.host = unused_port_url  # Ollama went away after start
    services.chat.send(chat_id, "Are you there?")
    user, answer = finish(services, chat_id)
    assert user.content == "Are you there?"
    assert answer.status == "failed" and "not reachable" in answer.error


def test_stop_keeps_the_partial_answer_and_the_engine_serves_the_next_turn(make_services):
    services = make_services(num_predict=2000)
    chat_id = new_chat(services)
    services.chat.send(chat_id, "Count from 1 to 1000, one number per line.")
    for snapshot in services.chat.follow(chat_id):
        if len(snapshot.text) > 20:
            assert services.chat.stop(chat_id)
            break
    _, answer = finish(services, chat_id)
    assert answer.status == "stopped" and len(answer.content) > 20
    services.settings.chat.num_predict = 16
    services.chat.regenerate(chat_id)
    messages = finish(services, chat_id)
    assert len(messages) == 2 and messages[-1].status == "ok"


def test_a_follower_that_leaves_does_not_stop_the_answer(services):
    chat_id = new_chat(services)
    services.chat.send(chat_id, "Name three colours.")
    follower = services.chat.follow(chat_id)
    next(follower)
    follower.close()  # the browser tab went away
    _, answer = finish(services, chat_id)
    assert answer.status == "ok" and answer.content


def test_one_turn_at_a_time_per_chat(make_services):
    services = make_services(num_predict=400)
    chat_id = new_chat(services)
    services.chat.send(chat_id, "Write a long story.")
    with pytest.raises(ChatError, match="still answering"):
        services.chat.send(chat_id, "And another")
    services.chat.stop(chat_id)
    finish(services, chat_id)


def test_edit_last_replaces_the_message_and_its_answer(services):
    chat_id = new_chat(services)
    services.chat.send(chat_id, "Hi")
    finish(services, chat_id)
    services.chat.edit_last(chat_id, "Hello there")
    messages = finish(services, chat_id)
    assert [m.role for m in messages] == ["user", "assistant"] and messages[0].content == "Hello there"


@pytest.mark.parametrize("text", ["", "   ", None])
def test_empty_messages_are_refused(services, text):
    with pytest.raises(ChatError, match="empty"):
        services.chat.send(new_chat(services), text)


def test_too_long_messages_are_refused_before_storing(make_services):
    services = make_services(max_message_chars=10)
    chat_id = new_chat(services)
    with pytest.raises(ChatError, match="too long"):
        services.chat.send(chat_id, "x" * 11)
    assert services.store.list_messages(chat_id) == []


def test_an_answer_interrupted_by_a_restart_shows_as_stopped(services, tmp_path):
    chat_id = new_chat(services)
    services.store.append_message(chat_id, "user", "q")
    services.store.append_message(chat_id, "assistant", "half an ans", status="streaming")
    services.store.close()  # the app stopped mid-answer…
    reopened = WorkspaceStore(services.settings.data_dir)  # …and started again
    services.store = services.chat.store = reopened
    last = services.chat.messages(chat_id)[-1]
    assert last.status == "stopped" and last.content == "half an ans" and "Interrupted" in last.error


def msg(role, content):
    return SimpleNamespace(role=role, content=content)


def test_fit_history_keeps_system_prompt_and_newest_turns():
    history = [msg("user", "a" * 300), msg("assistant", "b" * 300), msg("user", "c" * 30)]
    fitted = fit_history("sys", history, budget_tokens=120)
    assert fitted.messages[0] == {"role": "system", "content": "sys"}
    assert fitted.messages[-1]["content"] == "c" * 30
    assert fitted.dropped == 2
    everything = fit_history("", history, budget_tokens=10_000)
    assert everything.dropped == 0 and len(everything.messages) == 3


def test_fit_history_always_keeps_the_last_message_even_if_huge():
    fitted = fit_history("", [msg("user", "x" * 100_000)], budget_tokens=100)
    assert len(fitted.messages) == 1 and fitted.dropped == 0


def test_older_turns_are_left_out_to_fit_the_context_and_the_answer_says_so(make_services):
    services = make_services(num_ctx=512, reply_reserve=128)
    chat_id = new_chat(services)
    for n in range(6):  # a history far beyond a 512-token window
        services.store.append_message(chat_id, "user", f"Question {n}: " + "lorem ipsum " * 60)
        services.store.append_message(chat_id, "assistant", f"Answer {n}: " + "dolor sit " * 60)
    services.chat.send(chat_id, "Summarise in one word.")
    answer = finish(services, chat_id)[-1]
    assert answer.status == "ok" and answer.meta["dropped_messages"] >= 10
    assert answer.meta["num_ctx"] == 512


def test_edit_last_loses_nothing_when_its_write_fails(services, monkeypatch):
    from workspace.store import StorageFull, storage

    chat_id = new_chat(services)
    services.store.append_message(chat_id, "user", "the original question")
    services.store.append_message(chat_id, "assistant", "its answer")
    real_write = storage.atomic_write_bytes

    def disk_full_for_the_edit(path, payload, **kwargs):
        if b"the edited question" in payload:
            raise StorageFull("The disk is full.")
        return real_write(path, payload, **kwargs)

    monkeypatch.setattr(storage, "atomic_write_bytes", disk_full_for_the_edit)
    with pytest.raises(StorageFull):
        services.chat.edit_last(chat_id, "the edited question")
    monkeypatch.undo()
    expected = ["the original question", "its answer"]
    assert [m.content for m in services.chat.messages(chat_id)] == expected
    services.store.close()
    with WorkspaceStore(services.settings.data_dir) as reopened:  # and on disk
        assert [m.content for m in reopened.list_messages(chat_id)] == expected
    services.store = services.chat.store = WorkspaceStore(services.settings.data_dir)


def test_a_fallback_is_recorded_and_said_under_the_answer(services, starter_model):
    from workspace.ui.render import chatbot_messages
    profile = services.store.create_profile("Fallback", model_overrides={"chat": "nonexistent:1b"})
    chat_id = services.store.create_chat(profile.id).id
    services.chat.send(chat_id, "Say hi.")
    _, answer = finish(services, chat_id)
    assert answer.model == starter_model
    assert (answer.meta["model_asked"], answer.meta["model_level"]) == ("nonexistent:1b", "profile")
    note = chatbot_messages([answer])[0]["content"]
    assert f"answered by `{starter_model}`: `nonexistent:1b` is not installed" in note


def test_an_installed_model_gets_no_fallback_note(services, starter_model):
    from workspace.ui.render import chatbot_messages
    chat_id = new_chat(services)
    services.chat.send(chat_id, "Say hi.")
    _, answer = finish(services, chat_id)
    assert answer.meta["model_asked"] == starter_model and answer.meta["model_level"] == "global"
    assert "answered by" not in chatbot_messages([answer])[0]["content"]
