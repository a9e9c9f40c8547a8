"""PipelineService: starts code pipeline runs server-side, keeps them for viewers, records and saves them.

It resolves each stage's model with the override rule (chat > profile > global) for the run's profile
and chat, stores the task in the chat before any model is called (when the run is saved into a chat),
runs the pipeline in a worker thread, then stores the answer, writes the history record and only
then tells followers the run ended.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Any

from loguru import logger

from workspace.llm import LLMError
from workspace.pipeline.checks import LANGUAGES
from workspace.pipeline.code import CodePipeline, PipelineConfig, RoleModels
from workspace.pipeline.context import Cancelled, RunContext
from workspace.pipeline.report import chat_answer, history_record, result_of
from workspace.pipeline.runs import PipelineRun
from workspace.pipeline.sandbox import Sandbox
from workspace.pipeline.stages import Budget
from workspace.settings import PipelineSettings, Role
from workspace.store.ids import new_id

KEEP_RUNS = 200  # finished runs kept in memory for late viewers; the history file keeps them all


class PipelineError(Exception):
    """A run that cannot start as asked; the message says why."""


class RunNotFound(PipelineError):
    """No run with that id is kept here."""


class PipelineService:
    def __init__(self, store: Any, gateway: Any, router: Any, chat: Any, history: Any, settings: PipelineSettings,
                 sandbox: Sandbox):
        self.store, self.gateway, self.router, self.chat, self.history = store, gateway, router, chat, history
        self.settings, self.sandbox = settings, sandbox
        self._runs: OrderedDict[str, PipelineRun] = OrderedDict()
        self._lock = threading.Lock()

    # -- starting and following -----------------------------------------------------------------------
    def start(self, task: str, language: str = "python", profile_id: str | None = None,
              chat_id: str | None = None) -> PipelineRun:
        task, language = self._checked(task, language)
        profile, chat = self._target(profile_id, chat_id)
        models = self.models(profile.id, chat.id if chat else None)
        run = PipelineRun(new_id(), task, language, profile.id, chat.id if chat else None)
        if chat is not None:
            self.chat.ensure_idle(chat.id)
            self.store.append_message(chat.id, "user", task, meta={"kind": "code", "run_id": run.run_id})
        # The task is on disk before any model is called, in the chat when there is one, else as a pending run.
        self.history.begin(run.run_id, {"kind": "pipeline", "profile_id": profile.id, "chat_id": run.chat_id,
                                        "started_at": run.started_at, "task": task, "language": language})
        with self._lock:
            self._runs[run.run_id] = run
            while len(self._runs) > KEEP_RUNS:
                self._runs.popitem(last=False)
        config = self._config(profile)
        threading.Thread(target=self._work, args=(run, models, config), name=f"pipeline-{run.run_id}",
                         daemon=True).start()
        return run

    def get(self, run_id: str) -> PipelineRun:
        with self._lock:
            run = self._runs.get(run_id)
        if run is None:
            raise RunNotFound("No such run here (runs are kept until the app restarts; see the history).")
        return run

    def latest(self, profile_id: str | None = None) -> PipelineRun | None:
        """The newest run (of a profile), running or not: what a new viewer re-attaches to."""
        with self._lock:
            runs = [r for r in self._runs.values() if profile_id in (None, r.profile_id)]
        return runs[-1] if runs else None

    def cancel(self, run_id: str) -> bool:
        return self.get(run_id).cancel()

    def stop_all(self, wait_s: float = 10.0) -> None:
        with self._lock:
            running = [r for r in self._runs.values() if not r.finished.is_set()]
        for run in running:
            run.cancel()
        for run in running:
            run.finished.wait(wait_s)

    def models(self, profile_id: str, chat_id: str | None = None) -> RoleModels:
        """Each stage's model by the override rule, with the level it came from."""
        profile = self.store.get_profile(profile_id)
        chat = self.store.get_chat(chat_id) if chat_id else None
        overrides = (profile.model_overrides, chat.model_overrides if chat else None)
        return RoleModels(*(self.router.effective(role, *overrides)
                            for role in (Role.CODER, Role.REVIEWER, Role.JUDGE, Role.ESCALATION)))

    def threshold(self, profile_id: str) -> int:
        profile = self.store.get_profile(profile_id)
        return self.settings.confidence_threshold if profile.confidence_threshold is None \
            else profile.confidence_threshold

    # -- internals --------------------------------------------------------------------------------------
    def _checked(self, task: Any, language: Any) -> tuple[str, str]:
        if not isinstance(task, str) or not task.strip():
            raise PipelineError("The task is empty: describe the code you want.")
        if len(task) > self.settings.max_task_chars:
            raise PipelineError(f"The task is too long ({len(task):,} characters; the limit is "
                                f"{self.settings.max_task_chars:,}).")
        language = (language or "python").strip().lower() if isinstance(language, str) else ""
        if language not in LANGUAGES:
            raise PipelineError(f"Unknown language {language!r}: choose one of {', '.join(LANGUAGES)}.")
        return task, language

    def _target(self, profile_id: str | None, chat_id: str | None) -> tuple[Any, Any]:
        chat = self.store.get_chat(chat_id) if chat_id else None
        if chat is not None and profile_id and chat.profile_id != profile_id:
            raise PipelineError("That chat belongs to another profile.")
        if chat is not None:
            return self.store.get_profile(chat.profile_id), chat
        if profile_id:
            return self.store.get_profile(profile_id), None
        profiles = self.store.list_profiles()
        if not profiles:
            raise PipelineError("There is no profile yet: create one first.")
        return profiles[0], None

    def _config(self, profile: Any) -> PipelineConfig:
        s = self.settings
        budget = Budget(num_ctx=s.num_ctx, num_predict=s.num_predict, temperature=s.temperature,
                        judge_retries=s.judge_retries)
        return PipelineConfig(drafts=s.drafts, confidence_threshold=self.threshold(profile.id),
                              max_rounds=s.max_rounds, budget=budget)

    def _work(self, run: PipelineRun, models: RoleModels, config: PipelineConfig) -> None:
        """The worker: run, store, record, then release followers. Never raises."""
        sandbox = self.sandbox
        ctx = RunContext(self.gateway, run.emit, run.cancel_switch)
        run.on_cancel(ctx.cancel_now)
        outcome, error = None, None
        try:
            outcome = CodePipeline(sandbox, config).run(ctx, run.task, run.language, models)
        except Cancelled:
            error = "cancelled"
        except LLMError as exc:
            error = str(exc)
        except Exception as exc:  # a bug must not leave a run 'running' forever
            logger.exception("Pipeline run {} crashed", run.run_id)
            error = f"Internal error: {exc!r}"
        result = result_of(run, ctx, outcome, error, sandbox, config, ended_at=time.time())
        self._store(run, result)
        run.finish(result)

    def _store(self, run: PipelineRun, result: dict) -> None:
        try:
            if run.chat_id:
                self.store.append_message(run.chat_id, "assistant", chat_answer(result), model=result["model"],
                                          backend=self.router.backend.kind, status=_message_status(result),
                                          error=result["error"] if result["outcome"] == "error" else None,
                                          meta={"kind": "code", "run_id": run.run_id,
                                                "confidence": result["verdict"]["confidence"],
                                                "outcome": result["outcome"]})
        except Exception:
            logger.exception("Could not save pipeline run {} into chat {}", run.run_id, run.chat_id)
        try:
            self.history.end(run.run_id, history_record(result))
        except Exception:
            logger.exception("Could not record pipeline run {}", run.run_id)


def _message_status(result: dict) -> str:
    return {"cancelled": "stopped", "error": "failed"}.get(result["outcome"], "ok")
