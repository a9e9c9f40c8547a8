"""The stored records (pydantic v2): Profile, ChatMeta, Message, SearchHit, and their size limits.

Records are frozen so the objects the store hands out can be shared with the in-memory caches;
changes go through the store, which builds a new validated record. Timestamps are float epoch seconds.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    FiniteFloat,
    StrictBool,
    StrictInt,
    StringConstraints,
    ValidationError,
    ValidationInfo,
)

from workspace.store.errors import InvalidInput
from workspace.store.ids import check_file_name

MAX_NAME_CHARS = 100
MAX_TITLE_CHARS = 300
MAX_DESCRIPTION_CHARS = 4_000
MAX_PROMPT_CHARS = 100_000
MAX_CONTENT_CHARS = 2_000_000
MAX_ERROR_CHARS = 10_000
MAX_MAP_ITEMS = 64
MAX_IMAGES = 64
PREVIEW_CHARS = 120

Role = Literal["system", "user", "assistant"]
Status = Literal["ok", "streaming", "stopped", "failed"]
ChatKind = Literal["chat", "study"]
# The same rule as ids.check_id, checked inside pydantic-core (fast when loading 5,000 chats at start).
Id = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{16}$")]
FileName = Annotated[str, AfterValidator(lambda v: check_file_name(v))]
MAX_TIMESTAMP = 253_402_300_799.0  # the end of year 9999: later dates cannot be shown


def _new_value_check(check):
    """A check for values coming in (`validated()`), not for records already stored: those keep loading."""

    def validator(value: Any, info: ValidationInfo) -> Any:
        if info.context and info.context.get("incoming"):
            check(value)
        return value

    return AfterValidator(validator)


def _no_nul(value: str) -> None:
    if "\x00" in value:
        raise ValueError("NUL characters are not allowed")


def _showable_time(value: float) -> None:
    if value > MAX_TIMESTAMP:
        raise ValueError("the date is out of range")


Timestamp = Annotated[FiniteFloat, Field(ge=0), _new_value_check(_showable_time)]
Text = Annotated[str, _new_value_check(_no_nul)]  # names and titles a person typed or an import brought
ShortKey = Annotated[str, Field(min_length=1, max_length=64)]
# A role name → model name; the role names themselves belong to settings, not to the store.
Overrides = Annotated[dict[ShortKey, Annotated[str, Field(min_length=1, max_length=200)]],
                      Field(max_length=MAX_MAP_ITEMS)]
Number = StrictInt | FiniteFloat
Scalar = StrictBool | StrictInt | FiniteFloat | Annotated[str, Field(max_length=1_000)] | None


class Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Profile(Record):
    id: Id
    name: Annotated[Text, Field(min_length=1, max_length=MAX_NAME_CHARS)]
    description: Annotated[Text, Field(max_length=MAX_DESCRIPTION_CHARS)] = ""
    system_prompt: Annotated[Text, Field(max_length=MAX_PROMPT_CHARS)] = ""
    model_overrides: Overrides = {}
    # The code pipeline's escalation threshold for this profile; None = the global setting.
    confidence_threshold: Annotated[int, Field(ge=0, le=100)] | None = None
    created_at: Timestamp
    updated_at: Timestamp


class ChatMeta(Record):
    id: Id
    profile_id: Id
    title: Annotated[Text, Field(max_length=MAX_TITLE_CHARS)] = "New chat"
    kind: ChatKind = "chat"  # "study": a study-tutor session, answered by the STUDY model
    pinned: StrictBool = False
    model_overrides: Overrides = {}
    created_at: Timestamp
    # Last change to the chat or its messages: what "newest first" sorts on.
    updated_at: Timestamp
    message_count: Annotated[int, Field(ge=0)] = 0
    preview: Annotated[str, Field(max_length=PREVIEW_CHARS + 1)] = ""
    deleted_at: Timestamp | None = None


class Attachment(Record):
    """A text file attached to a message (a source file, a log, a diff): the model reads it as a fenced block."""

    name: Annotated[str, Field(min_length=1, max_length=MAX_NAME_CHARS)]
    text: Annotated[str, Field(max_length=MAX_CONTENT_CHARS)]


class Message(Record):
    id: Id
    role: Role
    content: Annotated[str, Field(max_length=MAX_CONTENT_CHARS)]
    model: Annotated[str, Field(max_length=200)] | None = None
    backend: Annotated[str, Field(max_length=100)] | None = None
    stats: Annotated[dict[ShortKey, Number], Field(max_length=MAX_MAP_ITEMS)] = {}
    status: Status = "ok"
    error: Annotated[str, Field(max_length=MAX_ERROR_CHARS)] | None = None
    created_at: Timestamp
    updated_at: Timestamp
    images: Annotated[list[FileName], Field(max_length=MAX_IMAGES)] = []
    # What was read from the message's images (OCR, a vision model's description): the chat model's context.
    analysis: Annotated[str, Field(max_length=MAX_CONTENT_CHARS)] = ""
    attachments: Annotated[list[Attachment], Field(max_length=MAX_IMAGES)] = []
    truncated_context: StrictBool = False
    # Small facts about how the answer was made (dropped history, context size…).
    meta: Annotated[dict[ShortKey, Scalar], Field(max_length=MAX_MAP_ITEMS)] = {}


class SearchHit(Record):
    chat_id: str
    message_id: str
    profile_id: str
    chat_title: str
    role: Role
    snippet: str
    created_at: float
    # Where the words were found: the message's text, one of its text files (named), or the text read from
    # its images.
    source: Literal["message", "attachment", "image"] = "message"
    attachment: str = ""  # the text file's name when source == "attachment"


# Fields a caller may set on a message; id, role and timestamps belong to the store.
MESSAGE_FIELDS = frozenset({"model", "backend", "stats", "status", "error", "images", "analysis", "attachments",
                            "truncated_context", "meta"})


def validated(model: type[Record], data: dict[str, Any]) -> Any:
    """Build `model` from `data`, turning pydantic's error into an InvalidInput a user can read."""
    try:
        return model.model_validate(data, context={"incoming": True})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first.get("loc", ())) or model.__name__
        raise InvalidInput(f"Invalid {model.__name__.lower()} field '{where}': {first.get('msg')}.") from None


def preview_of(text: str) -> str:
    """One line of the start of `text`, for chat lists."""
    flat = " ".join(text.split())
    return flat if len(flat) <= PREVIEW_CHARS else flat[:PREVIEW_CHARS] + "…"


def clean_text(text: Any, empty_message: str) -> str:
    """A name or title on one line, trimmed; InvalidInput(empty_message) if nothing is left."""
    if not isinstance(text, str):
        raise InvalidInput(empty_message)
    text = " ".join(text.split())
    if not text:
        raise InvalidInput(empty_message)
    return text


def given_fields(**fields: Any) -> dict[str, Any]:
    """The keyword arguments a caller actually passed (None = leave unchanged)."""
    return {key: value for key, value in fields.items() if value is not None}


def check_fields(fields: dict[str, Any], allowed: frozenset[str]) -> None:
    unknown = sorted(set(fields) - allowed)
    if unknown:
        raise InvalidInput(f"Unknown message field(s): {', '.join(unknown)}.")


def with_activity(meta: ChatMeta, updated_at: float, message_count: int, preview: str) -> ChatMeta:
    """`meta` brought up to its chat file's activity (the same object when nothing changed: cheap at start)."""
    updated_at = max(meta.updated_at, updated_at)
    if (updated_at, message_count, preview) == (meta.updated_at, meta.message_count, meta.preview):
        return meta
    return meta.model_copy(update={"updated_at": updated_at, "message_count": message_count, "preview": preview})
