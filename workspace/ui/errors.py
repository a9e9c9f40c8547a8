"""The UI's error edge: domain errors become `gr.Error` with their user-facing message, once, here.

Every callback the UI wires is wrapped (tests/test_ui_callbacks.py checks); anything else is logged."""

from __future__ import annotations

import functools
import inspect
from typing import Any, Callable

import gradio as gr
from loguru import logger

from workspace.chat import ChatError
from workspace.dashboard.queries import DashboardError, UnknownRun
from workspace.llm import LLMError
from workspace.models_service import ModelsError
from workspace.pipeline.service import PipelineError
from workspace.store import StoreError
from workspace.vision.images import AttachmentRejected

DOMAIN_ERRORS = (ChatError, LLMError, StoreError, PipelineError, DashboardError, UnknownRun, ModelsError,
                 AttachmentRejected)


def shown_errors(fn: Callable) -> Callable:
    """Wrap a callback (plain or generator) so domain errors reach the user as a readable message."""
    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def generator_wrapper(*args: Any, **kwargs: Any):
            try:
                yield from fn(*args, **kwargs)
            except DOMAIN_ERRORS as exc:
                raise gr.Error(str(exc)) from exc
            except Exception as exc:
                if not isinstance(exc, gr.Error):
                    logger.exception("UI callback {} failed", fn.__name__)
                raise

        return generator_wrapper

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any):
        try:
            return fn(*args, **kwargs)
        except DOMAIN_ERRORS as exc:
            raise gr.Error(str(exc)) from exc
        except Exception as exc:
            if not isinstance(exc, gr.Error):  # a message already meant for the user is not a failure
                logger.exception("UI callback {} failed", fn.__name__)
            raise

    return wrapper
