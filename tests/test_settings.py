"""Settings precedence (init > env > toml > defaults), readable errors, and the model override rule."""

import pytest

from workspace.settings import Role, SettingsError, load_settings, resolve_model


@pytest.fixture
def toml_file(tmp_path, monkeypatch):
    path = tmp_path / "settings.toml"
    path.write_text('[models]\ncoder = "from-toml"\nchat = "chat-from-toml"\n[server]\nport = 9001\n')
    monkeypatch.setenv("WORKSPACE_SETTINGS_FILE", str(path))
    for key in ("WORKSPACE_MODELS__CODER", "WORKSPACE_SERVER__PORT", "WORKSPACE_DATA_DIR"):
        monkeypatch.delenv(key, raising=False)
    return path


def test_toml_beats_code_defaults(toml_file):
    settings = load_settings()
    assert settings.models.coder == "from-toml"
    assert settings.server.port == 9001
    assert settings.models.judge == "qwen2.5-coder:7b"  # untouched default


def test_env_beats_toml(toml_file, monkeypatch):
    monkeypatch.setenv("WORKSPACE_MODELS__CODER", "from-env")
    monkeypatch.setenv("WORKSPACE_SERVER__PORT", "9002")
    settings = load_settings()
    assert (settings.models.coder, settings.server.port) == ("from-env", 9002)
    assert settings.models.chat == "chat-from-toml"


def test_init_args_beat_env(toml_file, monkeypatch, tmp_path):
    monkeypatch.setenv("WORKSPACE_DATA_DIR", str(tmp_path / "env"))
    settings = load_settings(data_dir=tmp_path / "init")
    assert settings.data_dir == tmp_path / "init"
    assert settings.models_dir == tmp_path / "init" / "models"


def test_ollama_host_defaults_to_the_environment(toml_file, monkeypatch):
    monkeypatch.setenv("OLLAMA_HOST", "http://127.0.0.1:12345")
    assert load_settings().ollama.host == "http://127.0.0.1:12345"
    monkeypatch.delenv("OLLAMA_HOST")
    assert load_settings().ollama.host == "http://127.0.0.1:11434"


def test_bad_value_names_the_key(toml_file, monkeypatch):
    monkeypatch.setenv("WORKSPACE_SERVER__PORT", "not-a-port")
    with pytest.raises(SettingsError, match=r"server\.port"):
        load_settings()


def test_unknown_key_in_file_names_the_key(tmp_path, monkeypatch):
    path = tmp_path / "settings.toml"
    path.write_text('[engine]\nmod = "auto"\n')
    monkeypatch.setenv("WORKSPACE_SETTINGS_FILE", str(path))
    with pytest.raises(SettingsError, match=r"engine\.mod"):
        load_settings()


def test_broken_toml_is_a_clear_error(tmp_path, monkeypatch):
    path = tmp_path / "settings.toml"
    path.write_text("[models\ncoder = ")
    monkeypatch.setenv("WORKSPACE_SETTINGS_FILE", str(path))
    with pytest.raises(SettingsError, match="Cannot read settings"):
        load_settings()


def test_the_shipped_settings_file_is_valid(monkeypatch):
    monkeypatch.delenv("WORKSPACE_SETTINGS_FILE", raising=False)
    settings = load_settings()
    assert settings.engine.mode == "auto" and settings.server.port == 8100


def test_resolve_model_precedence_at_all_three_levels(toml_file):
    settings = load_settings()
    assert resolve_model(Role.CODER, settings) == ("from-toml", "global")
    profile = {"coder": "profile-coder"}
    assert resolve_model(Role.CODER, settings, profile) == ("profile-coder", "profile")
    chat = {"coder": "chat-coder"}
    assert resolve_model(Role.CODER, settings, profile, chat) == ("chat-coder", "chat")
    # Overrides are per role: the chat override of CODER does not touch CHAT.
    assert resolve_model(Role.CHAT, settings, profile, chat) == ("chat-from-toml", "global")
    # A blank override does not count.
    assert resolve_model(Role.CODER, settings, profile, {"coder": "  "}) == ("profile-coder", "profile")


def test_escalation_follows_the_effective_reviewer(toml_file):
    settings = load_settings()
    assert resolve_model(Role.ESCALATION, settings).model == settings.models.reviewer
    assert resolve_model(Role.ESCALATION, settings, {"reviewer": "big"}) == ("big", "profile")
    assert resolve_model(Role.ESCALATION, settings, {"reviewer": "big"}, {"escalation": "bigger"}) == (
        "bigger", "chat")


def test_tls_needs_both_files():
    from workspace.settings import SettingsError, load_settings

    with pytest.raises(SettingsError, match="tls_cert and tls_key"):
        load_settings(server={"tls_cert": "cert.pem"})
    assert load_settings(server={"tls_cert": "c.pem", "tls_key": "k.pem"}).server.tls_key.name == "k.pem"


@pytest.mark.parametrize("given, expected", [
    ("127.0.0.1:11434", "http://127.0.0.1:11434"),
    ("127.0.0.1", "http://127.0.0.1:11434"),
    (":12345", "http://127.0.0.1:12345"),
    ("gpu-box.local", "http://gpu-box.local:11434"),
    ("http://gpu-box.local", "http://gpu-box.local:80"),
    ("https://gpu-box.local/", "https://gpu-box.local:443"),
    ("http://127.0.0.1:11434/", "http://127.0.0.1:11434"),
    ("0.0.0.0", "http://127.0.0.1:11434"),
    ("[::1]:8080", "http://[::1]:8080"),
    ("  example.com:5000/ollama/  ", "http://example.com:5000/ollama"),
])
def test_ollama_host_takes_every_form_ollama_accepts(toml_file, monkeypatch, given, expected):
    monkeypatch.setenv("OLLAMA_HOST", given)
    assert load_settings().ollama.host == expected
    monkeypatch.delenv("OLLAMA_HOST")
    settings = load_settings(ollama={"host": given, "role_hosts": {"reviewer": given}}, openai={"allow_remote": True})
    assert settings.ollama.host == settings.ollama.host_for(Role.REVIEWER) == expected


@pytest.mark.parametrize("bad", ["ftp://x", "host:notaport"])
def test_a_bad_ollama_host_names_the_key(toml_file, monkeypatch, bad):
    monkeypatch.setenv("WORKSPACE_OLLAMA__HOST", bad)
    with pytest.raises(SettingsError, match=r"ollama\.host"):
        load_settings()


def test_a_remote_ollama_role_host_is_refused_unless_remote_backends_are_allowed(toml_file):
    with pytest.raises(SettingsError, match=r"ollama\.role_hosts\.reviewer: example\.com .* prompts would leave"):
        load_settings(ollama={"role_hosts": {"reviewer": "example.com:11434"}})
    allowed = load_settings(ollama={"role_hosts": {"reviewer": "example.com:11434"}}, openai={"allow_remote": True})
    assert allowed.ollama.role_hosts[Role.REVIEWER] == "http://example.com:11434"
    assert load_settings(ollama={"role_hosts": {"judge": "10.1.2.3"}}).ollama.role_hosts[Role.JUDGE]
