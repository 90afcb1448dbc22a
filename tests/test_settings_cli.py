"""``bpmnb settings`` run as a real subprocess: exit codes, both languages,
and a planted canary password that must surface nowhere but the 0600
secrets file."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

CANARY = "kanarek-Lm3&8812"
BPMNB = str(Path(sys.executable).with_name("bpmnb"))


class Run:
    """Runs bpmnb against one home and remembers every output it produced."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.outputs: list[str] = []

    def __call__(
        self, *args: str, stdin: str | None = None, lang: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("BPMNB_")}
        env["BPMNB_SECRET_BACKEND"] = "file"
        command = [BPMNB, "--home", str(self.home)]
        if lang:
            command += ["--lang", lang]
        result = subprocess.run(
            [*command, *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )
        self.outputs += [result.stdout, result.stderr]
        return result


@pytest.fixture
def run(tmp_path: Path) -> Run:
    return Run(tmp_path / "home")


def configure(run: Run) -> None:
    result = run(
        "settings",
        "set",
        "enabled=tak",
        "account_name=Comarch DMS",
        "sender=powiadomienia@example.com",
        "display_name=Comarch DMS - powiadomienia",
        "host=smtp.example.com",
        "port=587",
        "encryption=starttls",
        "login=powiadomienia",
        "--password-stdin",
        stdin=CANARY + "\n",
    )
    assert result.returncode == 0, result.stderr
    assert "Zapisano." in result.stdout


def assert_canary_only_in_secrets(run: Run, *extra: Path) -> None:
    for output in run.outputs:
        assert CANARY not in output
    holders = set()
    for root in (run.home, *extra):
        paths = (
            [root] if root.is_file() else [p for p in root.rglob("*") if p.is_file()]
        )
        holders |= {p for p in paths if CANARY.encode() in p.read_bytes()}
    assert holders == {run.home / "secrets.json"}
    assert stat.S_IMODE((run.home / "secrets.json").stat().st_mode) == 0o600


def test_set_show_export_import_never_reveal_the_password(
    run: Run, tmp_path: Path
) -> None:
    configure(run)
    shown = run("settings", "show")
    assert shown.returncode == 0
    assert "smtp.example.com" in shown.stdout and "********" in shown.stdout
    assert "0600" in shown.stdout

    as_json = run("settings", "show", "--json")
    data = json.loads(as_json.stdout)
    assert data["password"] == "********" and data["host"] == "smtp.example.com"

    exported_toml = tmp_path / "konto.toml"
    exported_json = tmp_path / "konto.json"
    assert run("settings", "export", str(exported_toml)).returncode == 0
    assert run("settings", "export", str(exported_json)).returncode == 0
    assert tomllib.loads(exported_toml.read_text())["port"] == 587
    assert json.loads(exported_json.read_text())["login"] == "powiadomienia"

    imported = run("settings", "import", str(exported_toml))
    assert imported.returncode == 0, imported.stderr
    assert run("settings", "validate").returncode == 0
    assert_canary_only_in_secrets(run, exported_toml, exported_json)


def test_show_in_english(run: Run) -> None:
    configure(run)
    shown = run("settings", "show", lang="en")
    assert "Server name (host): smtp.example.com" in shown.stdout
    assert "stored: file with mode 0600" in shown.stdout


def test_show_and_validate_without_settings_fail(run: Run) -> None:
    shown = run("settings", "show")
    assert shown.returncode == 1
    assert "Nie zapisano jeszcze ustawień" in shown.stderr
    assert run("settings", "validate").returncode == 1


def test_password_is_refused_in_argv(run: Run) -> None:
    result = run("settings", "set", f"password={CANARY}")
    assert result.returncode == 2
    assert "--password-stdin" in result.stderr
    assert not (run.home / "settings.json").exists()
    assert not (run.home / "secrets.json").exists()


def test_bad_port_in_both_languages(run: Run) -> None:
    pl = run("settings", "set", "port=abc")
    assert pl.returncode == 2
    assert "port: Port musi być liczbą od 1 do 65535" in pl.stderr
    en = run("settings", "set", "port=abc", lang="en")
    assert en.returncode == 2
    assert "port: The port must be a number from 1 to 65535" in en.stderr
    assert not (run.home / "settings.json").exists()


def test_rule_errors_exit_2_and_keep_the_saved_settings(run: Run) -> None:
    configure(run)
    before = (run.home / "settings.json").read_bytes()
    result = run("settings", "set", "host=smtp.wp.pl:465")
    assert result.returncode == 2
    assert "465 w polu Port" in result.stderr
    assert (run.home / "settings.json").read_bytes() == before


def test_set_nested_and_clear_optional(run: Run, tmp_path: Path) -> None:
    configure(run)
    assert run("settings", "set", "daily_cap=100", "timeout=5").returncode == 0
    assert run("settings", "set", "daily_cap=").returncode == 0
    data = json.loads(run("settings", "show", "--json").stdout)
    assert data["daily_cap"] is None and data["timeout"] == 5.0
    result = run(
        "settings",
        "set",
        "auth=oauth2_office365",
        "host=smtp.office365.com",
        "sender=powiadomienia@firma.pl",
        "login=powiadomienia@firma.pl",
        "oauth.tenant_id=firma.onmicrosoft.com",
        "oauth.client_id=11111111-2222-3333-4444-555555555555",
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(run("settings", "show", "--json").stdout)
    assert data["oauth"]["tenant_id"] == "firma.onmicrosoft.com"
    assert data["oauth_client_secret"] is None
    shown = run("settings", "show", lang="en")
    assert "Client secret (oauth.client_secret): -" in shown.stdout


def test_bad_pair_and_unknown_field(run: Run) -> None:
    bad = run("settings", "set", "host")
    assert bad.returncode == 2 and "POLE=WARTOŚĆ" in bad.stderr
    unknown = run("settings", "set", "hots=smtp.example.com", lang="en")
    assert unknown.returncode == 2 and "Unknown field “hots”" in unknown.stderr


def test_google_oauth_is_refused_at_auth(run: Run) -> None:
    result = run(
        "settings",
        "set",
        "enabled=true",
        "sender=annanowa@gmail.com",
        "host=smtp.gmail.com",
        "port=587",
        "encryption=starttls",
        "auth=oauth2_office365",
        "login=annanowa@gmail.com",
        "oauth.tenant_id=t",
        "oauth.client_id=11111111-2222-3333-4444-555555555555",
        lang="en",
    )
    assert result.returncode == 2
    assert "[error] auth: Google accounts with OAuth2" in result.stderr


def test_validate_a_file(run: Run, tmp_path: Path) -> None:
    bad = tmp_path / "zly.json"
    bad.write_text(
        json.dumps({"enabled": True, "host": "https://smtp.wp.pl", "port": 2525})
    )
    result = run("settings", "validate", "--json", str(bad))
    assert result.returncode == 2
    report = json.loads(result.stdout)
    assert report["ok"] is False
    by_key = {f["key"]: f for f in report["findings"]}
    assert by_key["rules.host_scheme"]["field"] == "host"
    assert by_key["rules.host_scheme"]["level"] == "error"
    # The cloud request names the server: it waits for a valid one.
    assert "rules.port_not_open" not in by_key
    assert by_key["rules.required"]["en"]
    fixed = tmp_path / "port.json"
    fixed.write_text(json.dumps({"host": "smtp.wp.pl", "port": 2525}))
    report = json.loads(run("settings", "validate", "--json", str(fixed)).stdout)
    by_key = {f["key"]: f for f in report["findings"]}
    assert by_key["rules.port_not_open"]["level"] == "warning"
    assert "chmura.standard@comarch.pl" in by_key["rules.port_not_open"]["pl"]

    warned = tmp_path / "ostrzezenia.toml"
    warned.write_text(
        'enabled = true\nsender = "jankowalski@wp.pl"\nhost = "smtp.wp.pl"\n'
        'port = 587\nencryption = "auto"\nlogin = "jankowalski"\n'
        f'password = "{CANARY}"\n'
    )
    result = run("settings", "validate", str(warned))
    assert result.returncode == 0
    assert "ostrzeżenie" in result.stderr and "Poczta WP" in result.stderr
    assert CANARY not in result.stdout + result.stderr

    damaged = tmp_path / "uszkodzony.json"
    damaged.write_text("{")
    result = run("settings", "validate", str(damaged))
    assert result.returncode == 2 and str(damaged) in result.stderr


def test_validate_for_sending_turns_draft_warnings_into_errors(run: Run) -> None:
    assert (
        run("settings", "set", "enabled=nie", "host=smtp.example.com").returncode == 0
    )
    assert run("settings", "validate").returncode == 0
    assert run("settings", "validate", "--sending").returncode == 2


def test_import_moves_the_password_and_names_the_store(
    run: Run, tmp_path: Path
) -> None:
    source = tmp_path / "konto.json"
    source.write_text(
        json.dumps(
            {
                "enabled": True,
                "sender": "powiadomienia@example.com",
                "host": "smtp.example.com",
                "port": 465,
                "encryption": "ssl",
                "login": "powiadomienia",
                "password": CANARY,
            }
        )
    )
    result = run("settings", "import", str(source), lang="en")
    assert result.returncode == 0, result.stderr
    assert "file with mode 0600" in result.stdout
    source.unlink()
    assert_canary_only_in_secrets(run)


def test_import_with_errors_exits_2(run: Run, tmp_path: Path) -> None:
    source = tmp_path / "konto.json"
    source.write_text(json.dumps({"port": 0, "password": CANARY}))
    result = run("settings", "import", str(source))
    assert result.returncode == 2
    assert "Port musi być liczbą" in result.stderr
    assert not (run.home / "secrets.json").exists()
    assert CANARY not in result.stdout + result.stderr


def test_world_readable_secrets_file_stops_the_commands(run: Run) -> None:
    configure(run)
    secrets_file = run.home / "secrets.json"
    secrets_file.chmod(0o644)
    result = run("settings", "show")
    assert result.returncode == 1
    assert f"chmod 600 {secrets_file}" in result.stderr
    result = run("settings", "set", "port=25", "--password-stdin", stdin="nowe\n")
    assert result.returncode == 1
    secrets_file.chmod(0o600)
    assert CANARY.encode() in secrets_file.read_bytes()
    assert_canary_only_in_secrets(run)


def test_damaged_settings_file_is_reported(run: Run) -> None:
    configure(run)
    (run.home / "settings.json").write_text('{"host": ')
    result = run("settings", "show", lang="en")
    assert result.returncode == 1
    assert str(run.home / "settings.json") in result.stderr
    assert "damaged" in result.stderr
    assert (run.home / "settings.json").read_text() == '{"host": '


def test_empty_password_on_stdin(run: Run) -> None:
    result = run("settings", "set", "--password-stdin", stdin="\n")
    assert result.returncode == 2
