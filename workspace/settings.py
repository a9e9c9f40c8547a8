"""Settings: the one object every part of the app reads its configuration from.

Precedence, highest first: init arguments > `WORKSPACE_*` environment variables (nested with `__`,
e.g. `WORKSPACE_MODELS__CODER`) > `settings.toml` > the defaults in this file. Also owns the `Role`
enum and `resolve_model`, the rule "chat override > profile override > global default".
"""

from __future__ import annotations

import ipaddress
import os
import urllib.parse
from enum import Enum
from pathlib import Path
from typing import Literal, Mapping, NamedTuple

from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SETTINGS_FILE = PROJECT_ROOT / "settings.toml"


class Role(str, Enum):
    """The jobs a model does; each resolves to a model on its own."""

    CODER = "coder"
    REVIEWER = "reviewer"
    JUDGE = "judge"
    ESCALATION = "escalation"
    STUDY = "study"
    CHAT = "chat"
    VISION = "vision"


class ModelSettings(BaseModel):
    """Global default model per role (Ollama model names). Empty escalation = the reviewer's model."""

    model_config = {"extra": "forbid"}

    coder: str = "qwen2.5-coder:7b"
    reviewer: str = "qwen2.5-coder:14b"
    judge: str = "qwen2.5-coder:7b"
    escalation: str = ""
    study: str = "llama3.1:8b"
    chat: str = "llama3.1:8b"
    vision: str = "llama3.2-vision:11b"

    def for_role(self, role: Role) -> str:
        return getattr(self, role.value)


OLLAMA_PORT = 11434
_SCHEME_PORTS = {"http": 80, "https": 443}


def normalize_host(value: str) -> str:
    """An Ollama host in any form Ollama accepts — `host`, `host:port`, `:port`, `[v6]:port`, with or without
    `http(s)://`, a trailing slash — as one full URL `scheme://host:port[/path]`.

    As Ollama: no scheme means http on port 11434, a scheme without a port its usual port, no host 127.0.0.1.
    0.0.0.0 (where a server listens, often copied from the server's OLLAMA_HOST) is reached on loopback.
    """
    text = value.strip()
    scheme, sep, rest = text.partition("://")
    if not sep:
        scheme, rest, port = "http", text, OLLAMA_PORT
    else:
        scheme = scheme.lower()
        if scheme not in _SCHEME_PORTS:
            raise ValueError(f"an Ollama host is http:// or https://, not {scheme}://")
        port = _SCHEME_PORTS[scheme]
    split = urllib.parse.urlsplit(f"{scheme}://{rest}")
    host = split.hostname or "127.0.0.1"
    port = split.port or port  # a port that is not a number raises ValueError: reported with the key
    if host in ("0.0.0.0", "::"):
        host = "127.0.0.1" if host == "0.0.0.0" else "::1"
    if ":" in host:
        host = f"[{host}]"
    return f"{scheme}://{host}:{port}{split.path.rstrip('/')}"


class OllamaSettings(BaseModel):
    """Where Ollama answers; a role may use another host (a bigger GPU box on the LAN)."""

    model_config = {"extra": "forbid"}

    host: str = Field(default_factory=lambda: os.environ.get("OLLAMA_HOST") or "http://127.0.0.1:11434",
                      validate_default=True)
    role_hosts: dict[Role, str] = Field(default_factory=dict)
    connect_timeout_s: float = Field(default=3.0, gt=0)
    read_timeout_s: float = Field(default=600.0, gt=0)
    # How long a model stays loaded after a request: seconds ("300", "-1" = always) or a Go duration
    # ("5m", "1h"); empty = the server's own default. Sent with every chat and warm-up.
    keep_alive: str = Field(default="", pattern=r"^(|-?[0-9]+(\.[0-9]+)?|([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+)$")

    @field_validator("host")
    @classmethod
    def _host(cls, value: str) -> str:
        return normalize_host(value)

    @field_validator("role_hosts")
    @classmethod
    def _role_hosts(cls, value: dict[Role, str]) -> dict[Role, str]:
        return {role: normalize_host(host) for role, host in value.items()}

    def keep_alive_value(self) -> str | float | None:
        """`keep_alive` as Ollama takes it: a number of seconds, a duration string, or None (not sent)."""
        if not self.keep_alive:
            return None
        try:
            return float(self.keep_alive)
        except ValueError:
            return self.keep_alive

    def host_for(self, role: Role) -> str:
        return self.role_hosts.get(role) or self.host


class OpenAISettings(BaseModel):
    """Roles served by an OpenAI-compatible server (vLLM, llama.cpp's server, LM Studio, LocalAI), by base
    URL (`http://gpu-box.lan:8000/v1`). Only loopback and private-network addresses, unless `allow_remote`:
    a remote server receives the prompts. API keys live in the data folder (`backend-keys.json`), not here."""

    model_config = {"extra": "forbid"}

    role_urls: dict[Role, str] = Field(default_factory=dict)
    allow_remote: bool = False

    @model_validator(mode="after")
    def _local_only(self) -> "OpenAISettings":
        self.role_urls = {role: check_role_url(f"openai.role_urls.{role.value}", url, self.allow_remote).rstrip("/")
                          for role, url in self.role_urls.items()}
        return self


def check_role_url(key: str, url: str, allow_remote: bool) -> str:
    """`url` when it is an http(s) URL on this machine or the private network (or `allow_remote`), else a
    ValueError naming `key`: a backend elsewhere would receive the prompts."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{key}: {url!r} is not an http(s) base URL")
    if not allow_remote and not is_private_host(parts.hostname):
        raise ValueError(f"{key}: {parts.hostname} is outside this machine and the private network; prompts "
                         "would leave it. Set openai.allow_remote = true to allow remote backends.")
    return url


def is_private_host(host: str) -> bool:
    """Loopback, a private or link-local address, `localhost`, or a LAN-only name (`.local`, `.lan`,
    `.home.arpa`). Names are not resolved: that would itself be a query leaving the machine."""
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        name = host.lower().rstrip(".")
        return name == "localhost" or name.endswith((".localhost", ".local", ".lan", ".home.arpa"))
    return address.is_loopback or address.is_private or address.is_link_local


class EngineSettings(BaseModel):
    """The embedded Ollama-compatible engine used when no Ollama answers."""

    model_config = {"extra": "forbid"}

    mode: Literal["auto", "always", "never"] = "auto"
    models_dir: Path | None = None  # None: <data_dir>/models
    threads: int | None = Field(default=None, ge=1)
    max_queue: int = Field(default=16, ge=1)
    parallel: int = Field(default=4, ge=1, le=16)  # requests decoded together per model (1: one at a time)


class ChatSettings(BaseModel):
    """How chat turns are sized."""

    model_config = {"extra": "forbid"}

    num_ctx: int = Field(default=4096, ge=512)  # context window asked of the model (capped by the model's own)
    reply_reserve: int = Field(default=1024, ge=64)  # tokens kept free for the answer
    num_predict: int = Field(default=-1, ge=-1)  # longest answer in tokens; -1 = until the model stops
    max_message_chars: int = Field(default=100_000, ge=1)


class VisionSettings(BaseModel):
    """Attachments in chat (images and text files): upload limits, what is kept, the sizes made."""

    model_config = {"extra": "forbid"}

    max_file_mb: int = Field(default=10, ge=1, le=100)  # per uploaded image (the request body limit also applies)
    max_pixels: int = Field(default=40_000_000, ge=1)  # declared width × height; checked before decoding
    max_images: int = Field(default=8, ge=1, le=64)  # per message
    keep_original: bool = True  # keep the normalised image (PNG) beside its thumbnail
    original_max_side: int = Field(default=2048, ge=256, le=8192)  # longest side of the kept / analysed image
    thumbnail_side: int = Field(default=256, ge=32, le=1024)
    describe_max_side: int = Field(default=1024, ge=128, le=4096)  # longest side sent to a vision model
    # Text files (source, logs, diffs; UTF-8 by content): size of each, how many per message.
    max_text_kb: int = Field(default=256, ge=1, le=2048)
    max_text_files: int = Field(default=8, ge=0, le=64)


class TrashSettings(BaseModel):
    """How long a deleted chat stays restorable before it is deleted for good."""

    model_config = {"extra": "forbid"}

    retention_days: float = Field(default=30.0, ge=0)  # 0: purged at the next start or daily run


class PipelineSettings(BaseModel):
    """The code pipeline: how many drafts, when to escalate, how long generated code may run."""

    model_config = {"extra": "forbid"}

    drafts: int = Field(default=3, ge=1, le=8)  # the first greedy, the others sampled
    temperature: float = Field(default=0.8, ge=0, le=2)  # of the sampled drafts
    confidence_threshold: int = Field(default=70, ge=0, le=100)  # below it, escalate (a profile may override)
    max_rounds: int = Field(default=2, ge=0, le=5)  # escalation rounds at most
    judge_retries: int = Field(default=2, ge=0, le=5)  # re-asks when the judge's JSON does not parse
    num_ctx: int = Field(default=4096, ge=512)
    num_predict: int = Field(default=768, ge=16)  # longest draft in tokens
    max_task_chars: int = Field(default=20_000, ge=1)
    sandbox_wall_s: float = Field(default=10.0, gt=0, le=300)
    sandbox_cpu_s: int = Field(default=5, ge=1, le=300)
    sandbox_memory_mb: int = Field(default=512, ge=64)
    sandbox: Literal["auto", "bubblewrap", "rlimits"] = "auto"  # auto: bubblewrap when it is installed


class HistorySettings(BaseModel):
    """The run history under <data_dir>/logs/runs*.jsonl."""

    model_config = {"extra": "forbid"}

    rotation: str = "10 MB"
    retention: int = Field(default=20, ge=1)  # files kept


class ServerSettings(BaseModel):
    """Where and how the app serves: the LAN by default, behind a login."""

    model_config = {"extra": "forbid"}

    host: str = "0.0.0.0"  # the LAN; "127.0.0.1" (`python app.py --local`) serves this machine only
    port: int = Field(default=8100, ge=0, le=65535)
    login: bool | None = None  # always required beyond loopback; true requires it on loopback too (tests)
    allowed_hosts: list[str] = Field(default_factory=list)  # more names this machine answers to (besides its own)
    max_body_mb: int = Field(default=25, ge=1, le=1024)  # larger request bodies are refused before being read
    # A chat export with its images re-imports up to this (REST import, read as a stream; its image files too).
    max_import_mb: int = Field(default=1024, ge=1, le=65536)
    tls_cert: Path | None = None  # with tls_key: serve HTTPS (`python app.py --tls` makes a self-signed pair)
    tls_key: Path | None = None
    # Gradio's queue: events at once by default (answers that stream are followers outside this limit,
    # so a page still loads while they run), and how many may wait before new ones are refused.
    queue_concurrency: int = Field(default=4, ge=1, le=64)
    queue_max_size: int = Field(default=64, ge=1)

    @model_validator(mode="after")
    def _tls_pair(self) -> "ServerSettings":
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("tls_cert and tls_key go together: set both or neither")
        return self


class LoggingSettings(BaseModel):
    model_config = {"extra": "forbid"}

    level: Literal["TRACE", "DEBUG", "INFO", "SUCCESS", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    rotation: str = "10 MB"
    retention: int = Field(default=10, ge=1)

    @field_validator("level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value


class Settings(BaseSettings):
    """All configuration. Build with `load_settings()` to get readable errors."""

    model_config = SettingsConfigDict(
        env_prefix="WORKSPACE_",
        env_nested_delimiter="__",
        extra="forbid",
        toml_file=DEFAULT_SETTINGS_FILE,
    )

    data_dir: Path = PROJECT_ROOT / "data"
    models: ModelSettings = ModelSettings()
    ollama: OllamaSettings = Field(default_factory=OllamaSettings)
    openai: OpenAISettings = OpenAISettings()
    engine: EngineSettings = EngineSettings()
    chat: ChatSettings = ChatSettings()
    trash: TrashSettings = TrashSettings()
    vision: VisionSettings = VisionSettings()
    pipeline: PipelineSettings = PipelineSettings()
    history: HistorySettings = HistorySettings()
    server: ServerSettings = ServerSettings()
    logging: LoggingSettings = LoggingSettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls, settings_file()))

    @model_validator(mode="after")
    def _local_role_hosts(self) -> "Settings":
        """A role's Ollama host follows the same rule as a base URL: private unless remote backends are allowed."""
        for role, host in self.ollama.role_hosts.items():
            check_role_url(f"ollama.role_hosts.{role.value}", host, self.openai.allow_remote)
        return self

    @property
    def models_dir(self) -> Path:
        return self.engine.models_dir or self.data_dir / "models"


def settings_file() -> Path:
    """The settings file the app reads (and where the Models tab saves its changes)."""
    return Path(os.environ.get("WORKSPACE_SETTINGS_FILE") or DEFAULT_SETTINGS_FILE)


def env_var(*keys: str) -> str:
    """The environment variable that sets a key (it wins over the settings file)."""
    return "WORKSPACE_" + "__".join(key.upper() for key in keys)


class SettingsError(Exception):
    """A settings file or value is wrong; the message names the key."""


def load_settings(**overrides: object) -> Settings:
    """Build Settings, turning validation errors into one message that names each bad key."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            key = ".".join(str(part) for part in error["loc"]) or "(settings)"
            problems.append(f"{key}: {error['msg']} (got {error.get('input')!r})")
        raise SettingsError("Invalid settings:\n  " + "\n  ".join(problems)) from None
    except (ValueError, OSError) as exc:  # e.g. a settings.toml that is not valid TOML
        raise SettingsError(f"Cannot read settings: {exc}") from None


class ResolvedModel(NamedTuple):
    """A role's model and the level it came from: "chat", "profile" or "global"."""

    model: str
    source: Literal["chat", "profile", "global"]


def resolve_model(
    role: Role,
    settings: Settings,
    profile_overrides: Mapping[str, str] | None = None,
    chat_overrides: Mapping[str, str] | None = None,
) -> ResolvedModel:
    """Chat override > profile override > global default, per role; blank overrides do not count.

    An escalation model that is set nowhere follows the reviewer, wherever the reviewer came from.
    """
    for source, overrides in (("chat", chat_overrides), ("profile", profile_overrides)):
        model = (overrides or {}).get(role.value, "").strip()
        if model:
            return ResolvedModel(model, source)
    if role is Role.ESCALATION and not settings.models.escalation:
        return resolve_model(Role.REVIEWER, settings, profile_overrides, chat_overrides)
    return ResolvedModel(settings.models.for_role(role), "global")
