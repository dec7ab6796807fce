"""The single-user API key: generated keys must be sendable by every client."""

import re

from tiled.cli.serve import API_KEY_ENV, choose_api_key


def test_generated_keys_are_word_characters_only(monkeypatch):
    # The official client drops any key not matching \w+ from its Authorization header.
    monkeypatch.delenv(API_KEY_ENV, raising=False)
    keys = [choose_api_key(None) for _ in range(50)]
    assert all(generated for _, generated in keys)
    assert all(re.fullmatch(r"\w+", key) and len(key) >= 32 for key, _ in keys)
    assert len({key for key, _ in keys}) == 50


def test_a_key_the_official_client_cannot_send_is_warned_about(capsys, monkeypatch):
    monkeypatch.delenv(API_KEY_ENV, raising=False)
    assert choose_api_key("has-a-dash") == ("has-a-dash", False)
    assert "official tiled client will not send" in capsys.readouterr().err
    assert choose_api_key("plain_key1") == ("plain_key1", False)
    assert capsys.readouterr().err == ""


def test_key_from_environment(monkeypatch):
    monkeypatch.setenv(API_KEY_ENV, "fromenv")
    assert choose_api_key(None) == ("fromenv", False)
