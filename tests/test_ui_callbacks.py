"""UI callbacks called as plain functions on real services: delete with undo, per browser session."""

from types import SimpleNamespace

import gradio as gr
import pytest

from workspace.ui import chat as chat_ui
from workspace.ui import library, render
from workspace.ui import study as study_ui


@pytest.fixture
def panels(services):
    with gr.Blocks():
        view = chat_ui.build(services)
    return library._Panels(services, view)


def test_delete_then_undo_brings_the_chat_back_for_that_session_only(services, panels):
    profile = services.profiles()[0]
    chat = services.store.create_chat(profile.id, title="Keep me")
    me, other = SimpleNamespace(session_hash="me"), SimpleNamespace(session_hash="other")
    panels.delete_chat(profile.id, chat.id, me)
    assert chat.id not in [c.id for c in services.store.list_chats(profile.id)]
    with pytest.raises(gr.Error, match="no deleted chat"):
        panels.undo_delete(profile.id, other)
    update = panels.undo_delete(profile.id, me)
    assert update["value"] == chat.id and chat.id in [c.id for c in services.store.list_chats(profile.id)]


def test_deleting_a_profile_needs_the_confirmation(services, panels):
    extra = services.store.create_profile("Client B")
    with pytest.raises(gr.Error, match="confirmation"):
        panels.delete_profile(extra.id, False)
    panels.delete_profile(extra.id, True)
    assert extra.id not in [p.id for p in services.store.list_profiles()]


def test_saving_the_profile_shows_the_open_chats_effective_models(services, panels):
    profile = services.profiles()[0]
    chat = services.store.create_chat(profile.id, model_overrides={"coder": "chat-coder"})
    blank = [""] * 7  # one dropdown per role, in Role order
    _, table = panels.save_profile(profile.id, chat.id, "Personal", "", "", None, "profile-coder", *blank[1:])
    coder_row = next(line for line in table.splitlines() if line.startswith("| coder |"))
    assert "| chat" in coder_row and "'chat-coder'" in coder_row  # the chat override still wins
    assert "profile-coder" not in table


def test_the_profile_panel_sets_and_clears_the_pipeline_threshold(services, panels):
    profile = services.profiles()[0]
    blank = [""] * 7
    panels.save_profile(profile.id, None, "Personal", "", "", 85, *blank)
    assert services.store.get_profile(profile.id).confidence_threshold == 85
    assert services.pipeline.threshold(profile.id) == 85
    assert panels.profile_settings(profile.id)[3] == 85
    panels.save_profile(profile.id, None, "Personal", "", "", None, *blank)
    assert services.pipeline.threshold(profile.id) == services.settings.pipeline.confidence_threshold


@pytest.mark.parametrize("text", ['{"n": ' + "9" * 5001 + "}", "[" * 100_000 + "]" * 100_000, "\udcff"])
def test_importing_a_hostile_file_says_why_and_adds_nothing(services, panels, tmp_path, text):
    profile = services.profiles()[0].id
    path = tmp_path / "hostile.json"
    path.write_bytes(text.encode("utf-8", "surrogateescape"))
    with pytest.raises(gr.Error, match="not a chat export"):
        panels.import_chat(profile, str(path))
    assert services.store.list_chats(profile) == []


HELPERS = {"opened", "chats_update", "models_for"}  # called by callbacks, never wired themselves


def test_every_ui_callback_goes_through_the_error_edge(services, panels):
    for owner in (panels, panels.view.actions):
        callbacks = [name for name in dir(owner) if not name.startswith("_") and name not in HELPERS
                     and callable(getattr(owner, name)) and name not in ("services", "store", "view")]
        unwrapped = [name for name in callbacks if not hasattr(getattr(owner, name), "__wrapped__")]
        assert callbacks and not unwrapped, f"{type(owner).__name__} callbacks without @shown_errors: {unwrapped}"


def test_a_chat_deleted_elsewhere_is_a_readable_message(services, panels):
    profile = services.profiles()[0]
    chat = services.store.create_chat(profile.id)
    services.store.delete_profile(profile.id)  # another tab or the API removed it
    with pytest.raises(gr.Error, match="does not exist"):
        panels.chat_settings(profile.id, chat.id)
    with pytest.raises(gr.Error, match="does not exist"):
        panels.view.actions.begin_edit(chat.id)


def test_the_message_box_takes_any_file_and_keeps_a_pasted_message_as_text(services):
    with gr.Blocks() as demo:
        chat_ui.build(services)
    box = next(block for block in demo.blocks.values() if getattr(block, "elem_id", None) == "message-box")
    assert box.file_types is None  # text files and images alike: sorted by content on the server
    assert box.max_plain_text_length == services.settings.chat.max_message_chars > 1_000


def session(name: str) -> SimpleNamespace:
    """A browser session as Gradio's request names it."""
    return SimpleNamespace(session_hash=name)


def test_the_list_refresh_at_a_turns_end_keeps_the_chat_the_browser_opened_meanwhile(services, panels):
    actions, me = panels.view.actions, session("me")
    profile = services.profiles()[0].id
    answered, picked = (services.store.create_chat(profile, title=t).id for t in ("Answered", "Picked"))
    actions.open_chat(profile, answered, me)
    actions.open_chat(profile, picked, me)  # the user's click, while the refresh queued with `answered` ran
    update = actions.chat_list(profile, "", "")  # queued at the end of `answered`'s turn
    assert {answered, picked} <= {value for _, value in update["choices"]}
    assert update.get("value", picked) == picked  # the refresh does not re-select the chat the user left


def test_the_page_loads_restore_keeps_a_chat_the_user_opened_before_it_ran(services, panels):
    actions, me = panels.view.actions, session("me")
    profile = services.profiles()[0].id
    remembered, picked = (services.store.create_chat(profile, title=t).id for t in ("Remembered", "Picked"))
    actions.open_chat(profile, picked, me)
    profiles, chats, _, browser, _ = actions.restore({"profile": profile, "chat": remembered}, me)
    assert chats["value"] == picked and browser == {"profile": profile, "chat": picked}
    assert profiles["value"] == profile and profiles["choices"]
    # A session that chose nothing yet gets the remembered chat back.
    assert actions.restore({"profile": profile, "chat": remembered}, session("fresh"))[1]["value"] == remembered


def test_new_chat_before_the_page_restored_opens_in_the_remembered_profile_and_stays_open(services, panels):
    actions, me = panels.view.actions, session("me")
    other = services.store.create_profile("Client B").id
    remembered = {"profile": other, "chat": services.store.create_chat(other, title="Remembered").id}
    chats, history, browser, _ = actions.new_chat("", remembered, me)  # the profile list is not filled yet
    created = chats["value"]
    assert history == [] and services.store.get_chat(created).profile_id == other and browser["chat"] == created
    profiles, chats, history, browser, _ = actions.restore(remembered, me)
    assert (profiles["value"], chats["value"], history) == (other, created, [])
    assert browser == {"profile": other, "chat": created}


def test_a_search_result_in_a_text_file_names_the_file(services, panels):
    profile = services.profiles()[0]
    chat = services.store.create_chat(profile.id, title="Logs")
    services.store.append_message(chat.id, "user", "look", attachments=[{"name": "boot.log", "text": "kernel panic"}])
    message = services.store.list_messages(chat.id)[0]
    (label, value), = panels.search("panic", False, profile.id)["choices"]
    assert value == f"{chat.id}/{message.id}"
    assert label.startswith("Logs — kernel panic") and "boot.log" in label


def test_the_import_panel_says_how_to_import_an_export_over_the_pages_upload_limit():
    hint = library.import_hint(SimpleNamespace(max_body_mb=25, max_import_mb=1024))
    assert "25 MB" in hint and "1024 MB" in hint and "/api/profiles/<profile id>/import" in hint
    assert library.import_hint(SimpleNamespace(max_body_mb=50, max_import_mb=50)) == ""


def test_a_study_answer_that_ended_before_the_page_followed_it_shows_as_stored(services):
    with gr.Blocks():
        actions = study_ui.build(services)
    chat_id, turn = services.study.ask("What is a tuple?", "beginner", services.profiles()[0].id)
    assert turn.finished.wait(120)
    *_, shown = actions.follow(chat_id)  # the page's follow, queued behind `ask`, begins only now
    stored = services.chat.messages(chat_id)
    assert stored[-1].role == "assistant" and stored[-1].content.strip()
    assert shown == render.chatbot_messages(stored)  # not the "…" shown while it was about to start
