"""REST routes of attachments in chat: `POST /api/chat/vision` (multipart) and a message's thumbnails.

`POST /api/chat/vision` takes `chat_id`, `message` (may be empty) and one or more `images` and/or `files`
fields (each sorted by its content: UTF-8 text is a text file, anything else must be an image); it answers
as `POST /api/chat` does (the stored answer, or NDJSON with `stream=true`). The uploads are checked before
anything is stored: a bad one is a 400 naming it. Thumbnails are served only for a
message that lists them, through the app's own login like every route (never from Gradio's file route).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile
from fastapi.responses import FileResponse

from workspace.api import MAX_TEXT, _answer
from workspace.services import Services

ID_CHARS = 64


def router(services: Services) -> APIRouter:
    api = APIRouter(prefix="/api")
    vision = services.vision
    assert vision is not None, "build_services makes the vision service"

    @api.post("/chat/vision")
    def vision_turn(chat_id: Annotated[str, Form(max_length=ID_CHARS)],
                    images: Annotated[list[UploadFile], File(description="images")] = [],
                    files: Annotated[list[UploadFile], File(description="text files")] = [],
                    message: Annotated[str, Form(max_length=MAX_TEXT)] = "",
                    stream: Annotated[bool, Form()] = False):
        services.store.get_chat(chat_id)  # an unknown chat is a 404 before the uploads are looked at
        # One byte over the limit is enough to know it is too big; the rest is never read into memory.
        uploads = [(upload.filename, upload.file.read(vision.read_limit)) for upload in [*images, *files]]
        return _answer(services, vision.send(chat_id, message, uploads), stream)

    @api.get("/chats/{chat_id}/messages/{message_id}/images/{name}")
    def thumbnail(chat_id: str, message_id: str, name: str) -> FileResponse:
        path = vision.thumbnail(chat_id, message_id, name)
        return FileResponse(path, media_type="image/webp", headers={"Cache-Control": "private, max-age=86400"})

    return api
