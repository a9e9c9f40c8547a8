"""A chat message with images, on the real services and the embedded engine's starter model: stored
first (images in the chat's folder), read, answered with the analysis in context, kept in backups,
deleted with the chat; every bad upload refused with nothing stored and the chat still usable."""

from __future__ import annotations

import io
import zipfile

import pytest
from PIL import Image

from tests.vision.rendering import render
from tests.vision.test_images import png_header_only
from workspace.chat import fit_history
from workspace.store import InvalidInput
from workspace.vision.images import AttachmentRejected, original_name


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def new_chat(services):
    return services.store.create_chat(services.profiles()[0].id)


def test_an_image_message_is_stored_read_and_answered(services):
    chat = new_chat(services)
    turn = services.vision.send(chat.id, "What is wrong?", [("../../shot.png", png(render(["KeyError: 'port'"])))])
    user = services.store.list_messages(chat.id)[0]
    assert user.role == "user" and user.content == "What is wrong?" and len(user.images) == 1
    folder = services.store.chat_dir(chat.id)
    assert (folder / user.images[0]).is_file() and (folder / original_name(user.images[0])).is_file()
    turn.finished.wait()
    user, answer = services.store.list_messages(chat.id)
    assert answer.role == "assistant" and answer.status == "ok" and answer.content
    assert "Image 1 (shot.png" in user.analysis and "KeyError" in user.analysis
    assert "Only the text in the image was read" in user.analysis  # the engine has no vision model
    sent = fit_history("", [user], 4096).messages[0]["content"]  # what the chat model is given
    assert sent.startswith("What is wrong?") and user.analysis in sent

    with zipfile.ZipFile(services.make_backup()) as backup:
        assert any(name.endswith(user.images[0]) for name in backup.namelist())
    services.store.delete_chat(chat.id)
    services.store.purge_deleted()
    assert not folder.exists()


def bad_uploads(limit: int) -> dict[str, list]:
    frames = [Image.new("RGB", (8, 8), "red")]
    good = png(frames[0])
    return {
        "random bytes": [("random.png", bytes(range(256)) * 8)],
        "truncated": [("cut.png", png(Image.effect_noise((120, 120), 50).convert("RGB"))[:300])],
        "zero bytes": [("empty.png", b"")],
        "bomb": [("bomb.png", png_header_only(30_000, 30_000))],
        "too many": [(f"{n}.png", good) for n in range(limit + 1)],
        "one bad among good": [("ok.png", good), ("junk.png", b"GIF89a-not-really")],
        "no image": [],
    }


def test_bad_uploads_store_nothing_and_the_chat_still_works(services):
    chat = new_chat(services)
    folder = services.store.chat_dir(chat.id)
    for case, uploads in bad_uploads(services.settings.vision.max_images).items():
        with pytest.raises(AttachmentRejected) as caught:
            services.vision.send(chat.id, "look", uploads)
        assert str(caught.value), case
        assert services.store.list_messages(chat.id) == [], case
        assert not folder.exists() or not any(folder.glob("img-*")), case
    services.chat.send(chat.id, "Say hi.").finished.wait()
    assert [m.role for m in services.store.list_messages(chat.id)] == ["user", "assistant"]


def test_a_message_the_chat_refuses_keeps_no_image_files(services):
    chat = new_chat(services)
    services.store.delete_chat(chat.id)  # in the trash: the store refuses the message after the files are written
    with pytest.raises(InvalidInput, match="trash"):
        services.vision.send(chat.id, "", [("a.png", png(Image.new("RGB", (8, 8))))])
    assert not any(services.store.chat_dir(chat.id).glob("img-*"))


def test_text_files_are_stored_with_the_message_and_read_by_the_model(services):
    chat = new_chat(services)
    source = b"def port(config):\n    return config['port']\n"
    # Named like an image, sorted by content: a text file; the real image beside it is read as one.
    turn = services.vision.send(chat.id, "", [("shot.png", source), ("trace.png", png(render(["KeyError: 'port'"])))])
    turn.finished.wait()
    user, answer = services.store.list_messages(chat.id)
    assert answer.status == "ok" and answer.content and len(user.images) == 1
    assert [(a.name, a.text) for a in user.attachments] == [("shot.png", source.decode())]
    assert services.store.get_chat(chat.id).title == "Image"
    services.chat.send(chat.id, "And now?").finished.wait()  # a follow-up still has the file in context
    history = services.store.list_messages(chat.id)
    sent = fit_history("", history, 4096).messages[0]["content"]
    assert "[Attached file: shot.png]\n```\n" + source.decode().rstrip("\n") + "\n```" in sent
    assert "KeyError" in sent  # and the image's analysis


def test_a_text_file_alone_is_a_message_and_too_big_or_too_many_store_nothing(services):
    chat = new_chat(services)
    limit = services.settings.vision.max_text_kb * 1024
    for uploads in ([("big.log", b"x" * (limit + 1))],
                    [(f"{n}.txt", b"x") for n in range(services.settings.vision.max_text_files + 1)]):
        with pytest.raises(AttachmentRejected, match="limit"):
            services.vision.send(chat.id, "", uploads)
        assert services.store.list_messages(chat.id) == []
    services.vision.send(chat.id, "", [("notes.diff", b"-a\n+b\n")]).finished.wait()
    user, answer = services.store.list_messages(chat.id)
    assert answer.status == "ok" and user.images == [] and user.attachments[0].name == "notes.diff"
    assert services.store.get_chat(chat.id).title == "notes.diff"


def test_edit_last_keeps_the_messages_images_and_text_files(services):
    chat = new_chat(services)
    source = b"def port(config):\n    return config['port']\n"
    services.vision.send(chat.id, "What is wrong?", [("app.py", source), ("trace.png", png(render(["KeyError"])))]
                         ).finished.wait()
    before = services.store.list_messages(chat.id)[0]
    services.chat.edit_last(chat.id, "Explain the error.").finished.wait()
    edited, answer = services.store.list_messages(chat.id)
    assert edited.content == "Explain the error." and answer.status == "ok"
    assert edited.images == before.images and edited.attachments == before.attachments
    assert edited.analysis == before.analysis and "KeyError" in edited.analysis
    assert services.vision.thumbnail(chat.id, edited.id, edited.images[0]).is_file()  # the bubble still shows it
    sent = fit_history("", [edited], 4096).messages[0]["content"]  # and the model still reads both
    assert "[Attached file: app.py]" in sent and edited.analysis in sent
    services.chat.edit_last(chat.id, "").finished.wait()  # the files alone are still a message
    assert services.store.list_messages(chat.id)[0].images == before.images
