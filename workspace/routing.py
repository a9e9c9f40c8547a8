"""Model routing: which model and host answer for a role, and why.

Applies `resolve_model` (chat override > profile override > global default), then the backend's
fallback when it lacks the model (the best installed model for the role), so the UI can show both
what was asked for and what runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from workspace.backend import Backend
from workspace.settings import Role, Settings, resolve_model


@dataclass(frozen=True)
class EffectiveModel:
    role: Role
    model: str  # what runs
    requested: str  # what the override rule chose
    source: str  # chat | profile | global
    host: str
    substituted: bool

    def describe(self) -> str:
        where = f"{self.source} setting"
        if self.substituted:
            return f"{self.model} (fallback: {self.requested!r} from the {where} is not installed)"
        return f"{self.model} (from the {where})"


class ModelRouter:
    def __init__(self, settings: Settings, backend: Backend):
        self.settings, self.backend = settings, backend

    def effective(
        self,
        role: Role,
        profile_overrides: Mapping[str, str] | None = None,
        chat_overrides: Mapping[str, str] | None = None,
    ) -> EffectiveModel:
        requested, source = resolve_model(role, self.settings, profile_overrides, chat_overrides)
        role_host = self.settings.openai.role_urls.get(role) or self.settings.ollama.role_hosts.get(role)
        if role_host:  # another machine: we do not know its models, so no substitution
            return EffectiveModel(role, requested, requested, source, role_host, False)
        substitute = self.backend.substitute(requested, role)
        model = substitute or requested
        return EffectiveModel(role, model, requested, source, self.backend.host, substitute is not None)

    def all_roles(
        self, profile_overrides: Mapping[str, str] | None = None, chat_overrides: Mapping[str, str] | None = None
    ) -> list[EffectiveModel]:
        return [self.effective(role, profile_overrides, chat_overrides) for role in Role]
