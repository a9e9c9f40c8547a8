"""Backend choice at start and the visible fallback for models the backend lacks."""

import pytest

from workspace.backend import Backend, BackendStartError, choose_backend, parameter_count
from workspace.llm import LLMGateway
from workspace.routing import ModelRouter
from workspace.settings import Role, load_settings


def settings_for(host, mode, tmp_path, **models):
    return load_settings(data_dir=tmp_path, ollama={"host": host}, engine={"mode": mode}, models=models)


def test_a_live_ollama_compatible_server_is_used(engine_url, starter_model, tmp_path):
    gateway = LLMGateway(engine_url)
    backend = choose_backend(settings_for(engine_url, "auto", tmp_path), gateway)
    assert backend.kind == "ollama" and backend.host == engine_url and starter_model in backend.models()


def test_never_with_no_ollama_is_a_clear_start_error(unused_port_url, tmp_path):
    with pytest.raises(BackendStartError, match="ollama serve"):
        choose_backend(settings_for(unused_port_url, "never", tmp_path), LLMGateway(unused_port_url))


def test_auto_with_no_ollama_starts_the_embedded_engine(unused_port_url, engine_models_dir, tmp_path, starter_model):
    settings = load_settings(data_dir=tmp_path, ollama={"host": unused_port_url},
                             engine={"mode": "auto", "models_dir": engine_models_dir})
    gateway = LLMGateway(unused_port_url)
    backend = choose_backend(settings, gateway)
    try:
        assert backend.kind == "embedded" and gateway.default_host == backend.host != unused_port_url
        assert starter_model in backend.models() and gateway.health()
    finally:
        backend.close()


def test_missing_role_models_fall_back_visibly(tmp_path):
    settings = settings_for("http://127.0.0.1:1", "auto", tmp_path, chat="llama3.1:8b", coder="tiny:latest")
    backend = Backend("ollama", "http://127.0.0.1:1", preferred_model="starter:0.5b",
                      _models=["tiny:latest", "starter:0.5b"])
    router = ModelRouter(settings, backend)
    chat = router.effective(Role.CHAT)
    assert (chat.model, chat.requested, chat.substituted) == ("starter:0.5b", "llama3.1:8b", True)
    assert "fallback" in chat.describe()
    coder = router.effective(Role.CODER, chat_overrides={"coder": "tiny"})  # "tiny" means "tiny:latest"
    assert (coder.model, coder.source, coder.substituted) == ("tiny", "chat", False)


def test_role_hosts_are_honoured_without_substitution(tmp_path):
    settings = load_settings(data_dir=tmp_path, ollama={"host": "http://127.0.0.1:1",
                                                         "role_hosts": {"reviewer": "http://127.0.0.1:2"}})
    router = ModelRouter(settings, Backend("ollama", "http://127.0.0.1:1", preferred_model=None))
    reviewer = router.effective(Role.REVIEWER)
    assert reviewer.host == "http://127.0.0.1:2" and not reviewer.substituted


def test_a_host_without_a_scheme_finds_the_running_server(engine_url, starter_model, tmp_path, monkeypatch):
    monkeypatch.setenv("OLLAMA_HOST", engine_url.removeprefix("http://"))  # as Ollama users write it
    settings = load_settings(data_dir=tmp_path, engine={"mode": "auto"})
    backend = choose_backend(settings, LLMGateway(settings.ollama.host))
    assert backend.kind == "ollama" and starter_model in backend.models()


def ranked_backend(**infos):
    from workspace.llm import ModelInfo
    details = {name: ModelInfo(name, caps, 4096, size) for name, (size, caps) in infos.items()}
    return Backend("ollama", "http://127.0.0.1:1", preferred_model="starter:0.5b",
                   _models=list(infos), _infos=details)


def test_a_fallback_picks_the_best_installed_model_for_the_role():
    backend = ranked_backend(**{"starter:0.5b": ("494.03M", ("completion",)),
                                "coder:1.5b": ("1.5B", ("completion",)),
                                "eyes:1b": ("1B", ("completion", "vision"))})
    assert backend.substitute("missing:70b", Role.REVIEWER) == "coder:1.5b"  # the strongest
    assert backend.substitute("missing:70b", Role.ESCALATION) == "coder:1.5b"
    assert backend.substitute("missing:7b", Role.VISION) == "eyes:1b"  # the only one that sees
    assert backend.substitute("missing:7b", Role.CHAT) == "starter:0.5b"  # the preferred one
    assert backend.substitute("coder:1.5b", Role.REVIEWER) is None  # installed: no fallback


def test_unknown_sizes_and_no_vision_model_fall_back_to_the_preferred_model():
    backend = ranked_backend(**{"other:1b": ("", ("completion",)), "starter:0.5b": ("", ("completion",))})
    assert backend.substitute("missing", Role.JUDGE) == "starter:0.5b"
    assert backend.substitute("missing", Role.VISION) == "starter:0.5b"


@pytest.mark.parametrize("text, count", [("494.03M", 494.03e6), ("1.5B", 1.5e9), ("7b", 7e9), ("", 0), ("big", 0)])
def test_parameter_sizes_are_read_as_numbers(text, count):
    assert parameter_count(text) == pytest.approx(count)


def test_refresh_reads_each_models_details(engine_url, starter_model):
    backend = Backend("ollama", engine_url, preferred_model=starter_model)
    backend.refresh(LLMGateway(engine_url))
    info = backend.info(starter_model)
    assert info is not None and parameter_count(info.parameter_size) > 0 and "completion" in info.capabilities
