"""Saving, loading, exporting and importing settings: atomic writes, damaged
files reported (never reset), and the password kept out of every file but
the 0600 secrets file."""

from __future__ import annotations

import json
import logging
import os
import signal
import stat
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

from bpmnb import credentials, rules, storage
from bpmnb.errors import BpmnbError, SettingsError
from bpmnb.home import Home
from bpmnb.secrets import open_store
from bpmnb.settings import AccountSettings
from bpmnb.storage import SettingsFileError, StorageError

CANARY = "kanarek-Qv7$2290"


@pytest.fixture(autouse=True)
def _file_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BPMNB_SECRET_BACKEND", "file")


@pytest.fixture
def home(tmp_path: Path) -> Home:
    return Home(tmp_path / "home")


def account(**overrides: Any) -> AccountSettings:
    data: dict[str, Any] = {
        "enabled": True,
        "account_name": "Comarch DMS",
        "sender": "powiadomienia@example.com",
        "display_name": 'Comarch DMS – powiadomienia "działu" \\ kadr',
        "description": "Konto do powiadomień\ndruga linia",
        "host": "smtp.example.com",
        "port": 587,
        "encryption": "starttls",
        "login": "powiadomienia",
        "password": CANARY,
    }
    data.update(overrides)
    settings, findings = rules.parse(data)
    assert settings is not None, findings
    return settings


def files_with_canary(*roots: Path) -> set[Path]:
    found = set()
    for root in roots:
        paths = (
            [root] if root.is_file() else [p for p in root.rglob("*") if p.is_file()]
        )
        for path in paths:
            if CANARY.encode() in path.read_bytes():
                found.add(path)
    return found


def temporaries(directory: Path) -> list[str]:
    return [p.name for p in directory.iterdir() if p.name.endswith(".tmp")]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# --------------------------------------------------------------------------
# save and load


def test_save_and_load(home: Home) -> None:
    settings = account()
    assert storage.load(home) is None
    storage.save(home, settings)
    loaded = storage.load(home)
    assert loaded is not None and loaded.password is None
    assert loaded.public_dict() == settings.public_dict()
    assert json.loads(home.settings_file.read_text()) == settings.public_dict()
    assert files_with_canary(home.root) == {home.secrets_file}
    assert mode(home.secrets_file) == 0o600
    assert mode(home.settings_file) == 0o600
    assert mode(home.root) == 0o700
    assert storage.password_stored(home)
    assert temporaries(home.root) == []


def test_nothing_logs_the_password(
    home: Home, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="bpmnb")
    storage.save(home, account())
    storage.load(home)
    storage.export(home, home.root / "kopia.json")
    open_store(home).delete("password")
    assert caplog.records  # the store and storage do log what they do
    assert CANARY not in caplog.text


def test_saved_message_is_in_the_catalogue() -> None:
    from bpmnb.i18n import text

    assert text("storage.saved", "pl") == "Zapisano."
    assert text("storage.saved", "en") == "Saved."


def test_errors_block_saving_and_nothing_is_written(home: Home) -> None:
    with pytest.raises(SettingsError) as caught:
        storage.save(home, account(host="smtp.example.com:465"))
    assert [f.key for f in caught.value.findings] == ["rules.host_port"]
    assert not home.settings_file.exists()
    assert not home.secrets_file.exists()


def test_errors_leave_the_previous_settings_alone(home: Home) -> None:
    storage.save(home, account())
    before = home.settings_file.read_bytes()
    with pytest.raises(SettingsError):
        storage.save(home, account(port=465, encryption="starttls", password="inne"))
    assert home.settings_file.read_bytes() == before
    assert open_store(home).get("password") == CANARY


def test_disabled_draft_may_be_saved_incomplete(home: Home) -> None:
    storage.save(home, account(enabled=False, host="", password=None))
    loaded = storage.load(home)
    assert loaded is not None and loaded.host == ""
    with pytest.raises(SettingsError):
        storage.save(home, account(enabled=True, host="", password=None))


def test_stored_password_counts_when_saving_again(home: Home) -> None:
    storage.save(home, account())
    storage.save(home, account(password=None, port=25))
    assert open_store(home).get("password") == CANARY
    open_store(home).delete("password")
    with pytest.raises(SettingsError) as caught:
        storage.save(home, account(password=None))
    assert [f.key for f in caught.value.findings] == ["rules.password_required"]


def test_a_stored_password_belongs_to_its_server_and_login(home: Home) -> None:
    """Another provider picked and saved without a new password: the old
    password must not be offered to the new server."""
    storage.save(home, account())
    other = account(password=None, host="smtp.wp.pl", port=465, encryption="ssl")
    with pytest.raises(SettingsError) as caught:
        storage.save(home, other)
    assert [f.field for f in caught.value.findings] == ["password"]
    # Refused: nothing changed, the password still serves the saved account.
    assert open_store(home).get("password") == CANARY
    saved = storage.load(home)
    assert saved is not None and saved.host == "smtp.example.com"
    # The server name is case-insensitive; the login is not another account.
    same = account(password=None, host="SMTP.Example.COM.")
    assert storage.password_stored(home, account=same)
    credential = credentials.for_settings(other, home)
    assert credential is None
    elsewhere = account(password=None, login="ktos.inny")
    assert credentials.for_settings(elsewhere, home) is None


def test_a_draft_for_another_server_forgets_the_old_password(home: Home) -> None:
    storage.save(home, account())
    draft = account(password=None, enabled=False, host="smtp.wp.pl")
    storage.save(home, draft)
    assert open_store(home).get("password") is None
    assert open_store(home).get("password_for") is None
    assert files_with_canary(home.root) == set()


def test_no_login_or_oauth_forgets_the_password(home: Home) -> None:
    storage.save(home, account())
    storage.save(home, account(password=None, login=""))
    assert open_store(home).get("password") is None
    storage.save(home, account())
    storage.save(
        home,
        account(
            password=None,
            auth="oauth2_office365",
            host="smtp.office365.com",
            oauth={"tenant_id": "firma.onmicrosoft.com", "client_id": "c"},
        ),
    )
    assert open_store(home).get("password") is None


def test_a_password_stored_before_bindings_is_kept_and_bound(home: Home) -> None:
    open_store(home.ensure()).set("password", CANARY)
    storage.save(home, account(password=None))
    assert open_store(home).get("password") == CANARY
    assert open_store(home).get("password_for") == "smtp.example.com\npowiadomienia"


def test_gmail_app_password_is_stored_without_spaces(home: Home) -> None:
    gmail = account(
        sender="annanowa@gmail.com",
        host="smtp.gmail.com",
        port=465,
        encryption="ssl",
        login="annanowa@gmail.com",
        password="pvli anpr lvvr nrrn",
    )
    storage.save(home, gmail)
    assert open_store(home).get("password") == "pvlianprlvvrnrrn"


def test_password_is_not_stored_for_oauth(home: Home) -> None:
    oauth = account(
        sender="powiadomienia@firma.pl",
        host="smtp.office365.com",
        auth="oauth2_office365",
        login="powiadomienia@firma.pl",
        oauth={"tenant_id": "firma.onmicrosoft.com", "client_id": "c"},
    )
    storage.save(home, oauth)
    assert open_store(home).get("password") is None
    assert files_with_canary(home.root) == set()


def test_password_from_environment_overrides_the_store(
    home: Home, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage.save(home, account())
    loaded = storage.load(home)
    assert loaded is not None
    credential = credentials.for_settings(loaded, home)
    assert credential is not None and credential.secret() == CANARY
    monkeypatch.setenv("BPMNB_PASSWORD", "z-automatu")
    credential = credentials.for_settings(loaded, home)
    assert credential is not None and credential.secret() == "z-automatu"


# --------------------------------------------------------------------------
# Damaged files are reported, never reset


@pytest.mark.parametrize(
    "content",
    [b'{"host": "smtp.example.com",', b"[1, 2]", b"\xff\xfe", b""],
)
def test_damaged_file_names_the_file_and_is_kept(home: Home, content: bytes) -> None:
    home.ensure()
    home.settings_file.write_bytes(content)
    with pytest.raises(StorageError) as caught:
        storage.load(home)
    error = caught.value
    assert isinstance(error, BpmnbError)
    assert str(home.settings_file) in error.message("pl")
    assert str(home.settings_file) in error.message("en")
    assert "uszkodzony" in error.message("pl") and "damaged" in error.message("en")
    assert home.settings_file.read_bytes() == content


def test_file_with_invalid_values_names_the_file_and_field(home: Home) -> None:
    home.ensure()
    home.settings_file.write_text(json.dumps({"port": "abc", "hots": "x"}))
    with pytest.raises(SettingsFileError) as caught:
        storage.load(home)
    message = caught.value.message("pl")
    assert str(home.settings_file) in message
    assert "port: Port musi być liczbą od 1 do 65535" in message
    assert "hots" in caught.value.message("en")
    assert {f.field for f in caught.value.findings} == {"port", "hots"}


def test_password_planted_in_the_settings_file_is_refused(home: Home) -> None:
    home.ensure()
    home.settings_file.write_text(json.dumps({"password": CANARY}))
    with pytest.raises(StorageError) as caught:
        storage.load(home)
    assert CANARY not in caught.value.describe("pl") + caught.value.describe("en")
    assert "bpmnb settings import" in caught.value.message("en")


# --------------------------------------------------------------------------
# Atomic writes


def test_crash_before_rename_keeps_the_old_file(
    home: Home, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage.save(home, account())
    before = home.settings_file.read_bytes()

    def crash(src: object, dst: object) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        storage.save(home, account(port=25, password=None))
    monkeypatch.undo()
    assert home.settings_file.read_bytes() == before
    assert temporaries(home.root) == []


_KILLED_WRITER = """
import os, sys, time
from pathlib import Path
os.environ["BPMNB_SECRET_BACKEND"] = "file"
from bpmnb import storage
from bpmnb.home import Home

home = Home(Path(sys.argv[1]))
settings = storage.load(home).model_copy(update={"port": 25})
real_fsync = os.fsync

def stall(fd):
    # Half of the new content is in the temporary file: stop here.
    print("writing", flush=True)
    time.sleep(60)

os.fsync = stall
storage.save(home, settings)
"""


def test_process_killed_mid_write_keeps_the_old_file(home: Home) -> None:
    storage.save(home, account())
    before = home.settings_file.read_bytes()
    proc = subprocess.Popen(
        [sys.executable, "-c", _KILLED_WRITER, str(home.root)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "writing"
    assert temporaries(home.root)  # the half-written file exists now
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    assert home.settings_file.read_bytes() == before
    loaded = storage.load(home)
    assert loaded is not None and loaded.port == 587
    # The next save removes what the killed writer left behind.
    storage.save(home, account(port=465, encryption="ssl", password=None))
    assert temporaries(home.root) == []
    loaded = storage.load(home)
    assert loaded is not None and loaded.port == 465


# --------------------------------------------------------------------------
# export and import


@pytest.mark.parametrize("suffix", [".json", ".toml"])
def test_export_has_no_secret_and_imports_back(
    home: Home, tmp_path: Path, suffix: str
) -> None:
    settings = account(daily_cap=500, ca_file=None)
    storage.save(home, settings)
    target = tmp_path / f"konto{suffix}"
    storage.export(home, target)
    assert files_with_canary(target) == set()
    raw = target.read_bytes()
    data = tomllib.loads(raw.decode()) if suffix == ".toml" else json.loads(raw)
    assert data["display_name"] == settings.display_name
    assert data["description"] == "Konto do powiadomień\ndruga linia"
    assert "password" not in data
    other = Home(tmp_path / "other")
    open_store(other).set("password", "inne")
    imported = storage.import_(other, target)
    assert imported.public_dict() == settings.public_dict()
    loaded = storage.load(other)
    assert loaded is not None and loaded.public_dict() == settings.public_dict()


def test_toml_leaves_out_empty_optional_values(home: Home, tmp_path: Path) -> None:
    storage.save(home, account())
    target = tmp_path / "konto.toml"
    storage.export(home, target)
    text = target.read_text()
    assert "ca_file" not in text and "daily_cap" not in text
    assert "\n[oauth]\n" in text


def test_export_without_settings_or_with_unknown_suffix(
    home: Home, tmp_path: Path
) -> None:
    with pytest.raises(StorageError) as caught:
        storage.export(home, tmp_path / "x.json")
    assert str(home.settings_file) in caught.value.message("pl")
    storage.save(home, account())
    with pytest.raises(StorageError) as caught:
        storage.export(home, tmp_path / "x.yaml")
    assert ".json, .toml" in caught.value.message("en")


def test_import_json_moves_the_password_to_the_store(
    home: Home, tmp_path: Path
) -> None:
    source = tmp_path / "konto.json"
    data = account(password=None).public_dict()
    source.write_text(json.dumps({**data, "password": CANARY}))
    imported = storage.import_(home, source)
    assert imported.password is None
    assert open_store(home).get("password") == CANARY
    assert files_with_canary(home.root) == {home.secrets_file}
    assert mode(home.secrets_file) == 0o600


def test_import_toml_with_password_and_client_secret(
    home: Home, tmp_path: Path
) -> None:
    source = tmp_path / "konto.toml"
    source.write_text(
        "enabled = true\n"
        'sender = "powiadomienia@firma.pl"\n'
        'host = "smtp.office365.com"\n'
        "port = 587\n"
        'encryption = "starttls"\n'
        'auth = "oauth2_office365"\n'
        'login = "powiadomienia@firma.pl"\n'
        "\n[oauth]\n"
        'tenant_id = "firma.onmicrosoft.com"\n'
        'client_id = "11111111-2222-3333-4444-555555555555"\n'
        f'client_secret = "{CANARY}"\n'
    )
    imported = storage.import_(home, source)
    assert imported.host == "smtp.office365.com"
    assert open_store(home).get("oauth_client_secret") == CANARY
    assert files_with_canary(home.root) == {home.secrets_file}


def test_import_with_errors_writes_nothing(home: Home, tmp_path: Path) -> None:
    storage.save(home, account())
    before = home.settings_file.read_bytes()
    source = tmp_path / "zly.json"
    source.write_text(
        json.dumps({"host": "smtp.wp.pl", "port": "abc", "password": "nowe"})
    )
    with pytest.raises(SettingsError) as caught:
        storage.import_(home, source)
    assert str(source) in caught.value.message("pl")
    assert home.settings_file.read_bytes() == before
    assert open_store(home).get("password") == CANARY
    rule_breaker = tmp_path / "regula.json"
    rule_breaker.write_text(
        json.dumps({"enabled": True, "host": "https://smtp.wp.pl", "password": "nowe"})
    )
    with pytest.raises(SettingsError):
        storage.import_(home, rule_breaker)
    assert home.settings_file.read_bytes() == before
    assert open_store(home).get("password") == CANARY


def test_import_refuses_a_password_that_is_not_text(home: Home, tmp_path: Path) -> None:
    source = tmp_path / "konto.json"
    source.write_text(json.dumps({"password": 123456789}))
    with pytest.raises(SettingsError) as caught:
        storage.import_(home, source)
    assert [f.field for f in caught.value.findings] == ["password"]
    assert "123456789" not in caught.value.describe("pl")
    assert not home.settings_file.exists()


@pytest.mark.parametrize(
    ("name", "content"),
    [("konto.toml", "host = "), ("konto.json", "{"), ("konto.ini", "host=x")],
)
def test_import_of_an_unreadable_file(
    home: Home, tmp_path: Path, name: str, content: str
) -> None:
    source = tmp_path / name
    source.write_text(content)
    with pytest.raises(StorageError) as caught:
        storage.import_(home, source)
    assert str(source) in caught.value.message("en")
    assert not home.settings_file.exists()
