"""What a real user does with inputs the other tests have not seen: values
pasted from web pages, files from other editors, odd homes, two processes at
once, Ctrl-C, and the form clicked in an unexpected order.

Each test states a promise of the README: a bad value is named at its field
in Polish and English and nothing is written; the password is kept exactly as
typed and appears nowhere but the secret store; every command takes
``--home``; exit codes are 0, 1 and 2; ``--json`` output parses, failures
included.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner, Result

from bpmnb import rules, storage
from bpmnb.cli import COMMANDS, main
from bpmnb.errors import BpmnbError
from bpmnb.home import Home
from bpmnb.presets import PRESETS
from bpmnb.secrets import FileStore, StoreError
from bpmnb.settings import AccountSettings
from bpmnb.widgets import SettingsForm
from tests.support.widgets import all_state

BPMNB = str(Path(sys.executable).with_name("bpmnb"))
CANARY = "Kanarek-9q!Zx"
NBSP, ZWSP = "\u00a0", "\u200b"


@pytest.fixture(autouse=True)
def _file_store(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BPMNB_SECRET_BACKEND", "file")
    monkeypatch.delenv("BPMNB_HOME", raising=False)
    monkeypatch.delenv("BPMNB_LANG", raising=False)


@pytest.fixture
def home(tmp_path: Path) -> Home:
    return Home(tmp_path / "home")


def cli(home: Home, *args: str, stdin: str | None = None) -> Result:
    """``bpmnb --home HOME ARGS`` in this process (click's runner)."""
    return CliRunner().invoke(main, ["--home", str(home.root), *args], input=stdin)


def run(
    *args: str, stdin: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``bpmnb ARGS`` as a real process."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("BPMNB_")}
    base["BPMNB_SECRET_BACKEND"] = "file"
    return subprocess.run(
        [BPMNB, *args],
        input=stdin,
        capture_output=True,
        text=True,
        env={**base, **(env or {})},
        timeout=60,
    )


def configure(home: Home, password: str = CANARY) -> bytes:
    """A valid WP account saved in ``home``; returns the settings file."""
    result = cli(
        home,
        "settings",
        "set",
        "enabled=tak",
        "sender=jan.kowalski@wp.pl",
        "host=smtp.wp.pl",
        "port=465",
        "encryption=ssl",
        "login=jan.kowalski",
        "--password-stdin",
        stdin=password + "\n",
    )
    assert result.exit_code == 0, result.output
    return home.settings_file.read_bytes()


def stored_password(home: Home) -> str | None:
    return FileStore(home.secrets_file).get("password")


def everything_in(root: Path) -> bytes:
    return b"".join(p.read_bytes() for p in root.rglob("*") if p.is_file())


# -- values pasted from web pages ---------------------------------------------


@pytest.mark.parametrize(
    "password",
    [
        "  spacja na początku i końcu  ",
        "\ttab\t",
        "cudzy\"słów'",
        "back\\slash\\",
        "émoji 🔑 hasło",
        f"{NBSP}nbsp{NBSP}",
    ],
)
def test_password_is_kept_exactly_as_typed(home: Home, password: str) -> None:
    # Spaces, tabs and NBSPs around a password may be part of it: trimming
    # them (as the model trims every other text field) would lock the user
    # out with a password that looks right.
    configure(home, password)
    assert stored_password(home) == password
    settings = AccountSettings.model_validate({"password": password})
    assert settings.password is not None
    assert settings.password.get_secret_value() == password


@pytest.mark.parametrize(
    "pasted",
    [
        " smtp.wp.pl ",
        "\tsmtp.wp.pl\t",
        f"{NBSP}smtp.wp.pl{NBSP}",
        f"{ZWSP}smtp.wp.pl{ZWSP}",
        "\ufeffsmtp.wp.pl\u200e",
    ],
)
def test_invisible_characters_around_a_value_are_dropped(
    home: Home, pasted: str
) -> None:
    configure(home)
    result = cli(home, "settings", "set", f"host={pasted}", f"sender= {ZWSP}a@wp.pl ")
    assert result.exit_code == 0, result.output
    saved = json.loads(home.settings_file.read_text())
    assert saved["host"] == "smtp.wp.pl"
    assert saved["sender"] == "a@wp.pl"


@pytest.mark.parametrize("field", ["host", "sender", "login"])
def test_invisible_character_inside_a_value_is_an_error_at_its_field(
    home: Home, field: str
) -> None:
    # Inside a value it cannot be dropped silently: "smtp.wp\u200b.pl" looks
    # right on screen while DNS would be asked for another name.
    before = configure(home)
    value = {"host": "smtp.wp\u200b.pl", "sender": "jan\u200b@wp.pl"}.get(
        field, "jan\u200b.kowalski"
    )
    for lang, word in (("pl", "niewidoczny znak (U+200B)"), ("en", "invisible")):
        result = cli(home, "--lang", lang, "settings", "set", f"{field}={value}")
        assert result.exit_code == 2, result.output
        assert f"{field}: " in result.stderr and word in result.stderr
    assert home.settings_file.read_bytes() == before


def test_host_in_capitals_is_still_recognised_as_wp() -> None:
    for host in ("SMTP.WP.PL", "Smtp.Wp.Pl."):
        settings = AccountSettings(
            host=host, port=587, encryption="starttls", sender="jan@wp.pl"
        )
        keys = {f.key for f in rules.check(settings)}
        assert "rules.wp_port" in keys, host


@pytest.mark.parametrize(
    ("host", "key", "hint"),
    [
        ("smtp://smtp.wp.pl:465", "rules.host_scheme", "smtp.wp.pl"),
        ("smtps://smtp.wp.pl", "rules.host_scheme", "smtp.wp.pl"),
        ("smtp.wp.pl:465", "rules.host_port", "465"),
        ("smtp.wp.pl/", "rules.host_path", ""),
        ("smtp wp.pl", "rules.host_space", ""),
    ],
)
def test_pasted_server_names_are_explained_at_host(
    home: Home, host: str, key: str, hint: str
) -> None:
    before = configure(home)
    result = cli(home, "settings", "set", f"host={host}")
    assert result.exit_code == 2
    assert "[błąd] host:" in result.stderr and hint in result.stderr
    assert home.settings_file.read_bytes() == before
    _, findings = rules.review({"host": host})
    found = [f for f in findings if f.key == key]
    assert found and found[0].field == "host"
    assert found[0].text.pl != found[0].text.en


@pytest.mark.parametrize(("typed", "port"), [("465 ", 465), ("0465", 465), (" 25", 25)])
def test_port_with_spaces_or_a_leading_zero_is_read(typed: str, port: int) -> None:
    settings, findings = rules.parse({"port": typed})
    assert settings is not None and settings.port == port, findings


@pytest.mark.parametrize("typed", ["4 65", "abc", "0", "65536", "-1", "465.5", ""])
def test_port_that_is_not_a_port_is_named_in_both_languages(typed: str) -> None:
    settings, findings = rules.parse({"port": typed})
    assert settings is None
    assert [f.field for f in findings] == ["port"]
    assert "Port musi być" in findings[0].text.pl
    assert "The port must be" in findings[0].text.en


def test_address_with_a_name_goes_to_display_name() -> None:
    settings = AccountSettings(sender="Jan Kowalski <jan@wp.pl>", host="smtp.wp.pl")
    found = [f for f in rules.check(settings) if f.field == "sender"]
    assert found[0].key == "rules.address_with_name"
    # The address to keep is shown, not an example the user must adapt.
    assert "(jan@wp.pl)" in found[0].text.pl and "Nazwa wyświetlana" in found[0].text.pl
    assert "(jan@wp.pl)" in found[0].text.en and "Display name" in found[0].text.en


@pytest.mark.parametrize("char", ["\x1b", "\x07", "\x0b", "\u2028", "\x7f"])
def test_control_characters_are_named_when_saving_not_when_sending(
    home: Home, char: str
) -> None:
    # bpmnb.message refuses them in headers at send time; the user must
    # hear it at the field, before the settings are saved.
    before = configure(home)
    result = cli(home, "settings", "set", f"display_name=Jan{char}Kowalski")
    assert result.exit_code == 2
    assert "[błąd] display_name:" in result.stderr and char not in result.stderr
    assert home.settings_file.read_bytes() == before


@pytest.mark.parametrize(
    "address",
    ["JAN.KOWALSKI@WP.PL", "jan@zażółć.pl", "jan@xn--za-6ja4f8n1l.pl"],
)
def test_capitals_idn_and_punycode_addresses_are_accepted(address: str) -> None:
    settings = AccountSettings(sender=address, reply_to=address, host="smtp.x.pl")
    assert not [f for f in rules.check(settings) if f.field in ("sender", "reply_to")]


@pytest.mark.parametrize(
    "typed",
    [
        "abcd efgh ijkl mnop",
        f"abcd{NBSP}efgh{NBSP}ijkl{NBSP}mnop",
        "abcd-efgh-ijkl-mnop",
        f"abcd{ZWSP}efgh ijkl mnop",
        "abcdefghijklmnop",
    ],
)
def test_gmail_app_password_as_pasted_is_stored_compact(home: Home, typed: str) -> None:
    # On smtp.gmail.com only app passwords work (16 letters, shown in groups);
    # the separators are for reading and would make AUTH fail.
    settings = AccountSettings(
        sender="jan.kowalski@gmail.com",
        host="smtp.gmail.com",
        port=465,
        encryption="ssl",
        login="jan.kowalski@gmail.com",
        password=typed,
    )
    assert "rules.gmail_app_password" not in {f.key for f in rules.check(settings)}
    storage.save(home, settings)
    assert stored_password(home) == "abcdefghijklmnop"


def test_other_providers_keep_spaces_in_passwords(home: Home) -> None:
    configure(home, "abcd efgh ijkl mnop")
    assert stored_password(home) == "abcd efgh ijkl mnop"


# -- settings set: every field with a bad value --------------------------------


@pytest.mark.parametrize(
    ("pair", "field"),
    [
        ("port=abc", "port"),
        ("port=0", "port"),
        ("port=70000", "port"),
        ("timeout=0", "timeout"),
        ("timeout=długo", "timeout"),
        ("encryption=tls", "encryption"),
        ("auth=basic", "auth"),
        ("delivery_component=cron", "delivery_component"),
        ("enabled=może", "enabled"),
        ("daily_cap=-5", "daily_cap"),
        ("rate_per_minute=dużo", "rate_per_minute"),
        ("sender=jan", "sender"),
        ("sender=jan@", "sender"),
        ("reply_to=a b@wp.pl", "reply_to"),
        ("server_type=IMAP", "server_type"),
        ("ca_file=/nie/ma/takiego.pem", "ca_file"),
        ("oauth.flow=magic", "oauth.flow"),
        ("Host=smtp.wp.pl", "Host"),
    ],
)
def test_bad_value_is_named_at_its_field_and_nothing_changes(
    home: Home, pair: str, field: str
) -> None:
    before = configure(home)
    secrets_before = home.secrets_file.read_bytes()
    pl = cli(home, "settings", "set", pair)
    en = cli(home, "--lang", "en", "settings", "set", pair)
    assert pl.exit_code == en.exit_code == 2, pl.output
    assert f"[błąd] {field}:" in pl.stderr
    assert f"[error] {field}:" in en.stderr
    assert "Traceback" not in pl.output + en.output
    assert home.settings_file.read_bytes() == before
    assert home.secrets_file.read_bytes() == secrets_before


# -- settings import / export ----------------------------------------------------


def test_import_of_json_with_a_byte_order_mark(home: Home, tmp_path: Path) -> None:
    # Notepad on Windows saves UTF-8 with a BOM; it must not be "damaged".
    path = tmp_path / "z-notatnika.json"
    body = json.dumps({"host": "smtp.wp.pl", "sender": "jan@wp.pl", "login": "jan"})
    path.write_bytes(b"\xef\xbb\xbf" + body.encode())
    result = cli(home, "settings", "import", str(path))
    assert result.exit_code == 0, result.output
    assert storage.load(home) == AccountSettings(
        host="smtp.wp.pl", sender="jan@wp.pl", login="jan"
    )
    toml_path = tmp_path / "z-notatnika.toml"
    toml_path.write_bytes(b'\xef\xbb\xbfhost = "smtp.onet.pl"\n')
    assert cli(home, "settings", "import", str(toml_path)).exit_code == 0


def test_import_with_a_password_moves_it_and_keeps_it_exact(
    home: Home, tmp_path: Path
) -> None:
    path = tmp_path / "konto.json"
    password = f"  {CANARY} "
    data = {"sender": "jan@wp.pl", "host": "smtp.wp.pl", "login": "jan"}
    path.write_text(json.dumps({**data, "password": password}))
    result = cli(home, "settings", "import", str(path))
    assert result.exit_code == 0, result.output
    assert CANARY not in result.output
    assert stored_password(home) == password
    assert CANARY.encode() not in home.settings_file.read_bytes()
    exported = tmp_path / "eksport.json"
    assert cli(home, "settings", "export", str(exported)).exit_code == 0
    assert CANARY not in exported.read_text()
    # The command tells the user to remove it from the file they gave.
    assert str(path) in result.stdout


@pytest.mark.parametrize(
    ("name", "content", "pl", "en"),
    [
        ("pusty.json", b"", "jest pusty", "is empty"),
        ("spacje.toml", b"  \n\t\n", "jest pusty", "is empty"),
        ("obciety.json", b'{"host": "smtp.wp', "uszkodzony", "damaged"),
        ("lista.json", b'["host"]', "uszkodzony", "damaged"),
        ("latin2.json", '{"host": "zażółć"}'.encode("iso-8859-2"), "UTF-8", "UTF-8"),
        ("duzy.json", b"{" + b" " * 2_000_000 + b"}", "bajtów", "bytes long"),
        ("ustawienia.txt", b"{}", "rozszerzenia", "extension"),
    ],
)
def test_import_of_a_wrong_file_says_which_and_writes_nothing(
    home: Home, tmp_path: Path, name: str, content: bytes, pl: str, en: str
) -> None:
    before = configure(home)
    path = tmp_path / name
    path.write_bytes(content)
    r_pl = cli(home, "settings", "import", str(path))
    r_en = cli(home, "--lang", "en", "settings", "import", str(path))
    assert r_pl.exit_code == r_en.exit_code == 2
    assert str(path) in r_pl.stderr and pl in r_pl.stderr, r_pl.stderr
    assert en in r_en.stderr, r_en.stderr
    assert home.settings_file.read_bytes() == before


def test_import_of_a_missing_file_in_both_languages(home: Home, tmp_path: Path) -> None:
    missing = tmp_path / "nie-ma.json"
    r_pl = cli(home, "settings", "import", str(missing))
    r_en = cli(home, "--lang", "en", "settings", "import", str(missing))
    assert r_pl.exit_code == r_en.exit_code == 2
    assert f"Nie ma pliku {missing}" in r_pl.stderr
    assert f"There is no file {missing}" in r_en.stderr
    assert not home.settings_file.exists()


def test_import_names_every_problem_at_once(home: Home, tmp_path: Path) -> None:
    # A type error (port) must not hide the other fields' problems.
    path = tmp_path / "konto.toml"
    path.write_text(
        textwrap.dedent(
            """\
            host = "smtp wp.pl"
            port = "abc"
            sender = "jan"
            nieznane = 1

            [oauth]
            Tenant_ID = "x"
            """
        )
    )
    result = cli(home, "--lang", "en", "settings", "import", str(path))
    assert result.exit_code == 2
    for field in ("host", "port", "nieznane", "oauth.Tenant_ID"):
        assert f"[error] {field}:" in result.stderr, field
    assert not home.settings_file.exists()


def test_field_names_in_another_case_are_refused_not_guessed(
    home: Home, tmp_path: Path
) -> None:
    # Deliberate: "Port" is not silently taken as "port"; the message names
    # the field and lists the right spelling, so the file gets fixed once.
    path = tmp_path / "konto.json"
    path.write_text(json.dumps({"HOST": "smtp.wp.pl", "Port": 465}))
    result = cli(home, "settings", "import", str(path))
    assert result.exit_code == 2
    assert "Nieznane pole „HOST”" in result.stderr and "host, port" in result.stderr
    assert not home.settings_file.exists()


@pytest.mark.parametrize("suffix", [".json", ".toml"])
def test_export_then_import_is_identical(
    home: Home, tmp_path: Path, suffix: str
) -> None:
    cli(home, "settings", "set", 'display_name=Jan "Kowal" \\ Kowalski — DMS')
    configure(home)
    cli(home, "settings", "set", "description=Opis ze znakami: ąęś\t„cudzysłów”")
    before = home.settings_file.read_bytes()
    exported = tmp_path / f"eksport{suffix}"
    assert cli(home, "settings", "export", str(exported)).exit_code == 0
    other = Home(tmp_path / "inny")
    result = cli(other, "settings", "import", str(exported))
    # No password travels in an export: the enabled account needs one.
    assert result.exit_code == 2 and "[błąd] password:" in result.stderr
    FileStore(other.secrets_file).set("password", CANARY)
    result = cli(other, "settings", "import", str(exported))
    assert result.exit_code == 0, result.output
    assert other.settings_file.read_bytes() == before


# -- the home directory ----------------------------------------------------------


def test_home_with_spaces_and_polish_letters_is_created_private(
    tmp_path: Path,
) -> None:
    root = tmp_path / "Dokumenty użytkownika" / "Żółta gęś"
    result = run(
        "settings", "set", "host=smtp.wp.pl", "--home", str(root), "--lang", "en"
    )
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(root.stat().st_mode) & 0o077 == 0
    assert stat.S_IMODE((root / "settings.json").stat().st_mode) == 0o600
    shown = run("settings", "show", env={"BPMNB_HOME": str(root)})
    assert "smtp.wp.pl" in shown.stdout


def test_home_that_cannot_be_created_is_a_message_not_a_traceback(
    tmp_path: Path,
) -> None:
    blocker = tmp_path / "plik"
    blocker.write_text("")
    result = run("--lang", "en", "settings", "set", "host=x.pl", "--home", str(blocker))
    assert result.returncode in (1, 2)
    assert "Traceback" not in result.stderr
    result = run(
        "--lang", "en", "settings", "set", "host=x.pl", "--home", str(blocker / "a")
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert str(blocker / "a") in result.stderr


def test_read_only_home_is_explained(
    home: Home, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = configure(home)

    def refuse(*_a: object, **_k: object) -> Any:
        raise PermissionError(13, "Permission denied")

    # Tests may run as root, who can write anywhere: make the OS refuse.
    monkeypatch.setattr("bpmnb.files.tempfile.mkstemp", refuse)
    result = cli(home, "--lang", "en", "settings", "set", "display_name=Nowa")
    assert result.exit_code == 1
    assert f"{home.settings_file} cannot be written: Permission denied" in (
        result.stderr
    )
    assert isinstance(result.exception, SystemExit)  # not a traceback
    result = cli(home, "settings", "set", "--password-stdin", stdin="nowe-hasło\n")
    assert result.exit_code == 1
    assert "hasło nie zostało zapisane" in result.stderr
    assert home.settings_file.read_bytes() == before
    assert stored_password(home) == CANARY


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
def test_really_read_only_home(home: Home) -> None:
    before = configure(home)
    home.root.chmod(0o500)
    try:
        result = run("settings", "set", "port=587", "--home", str(home.root))
    finally:
        home.root.chmod(0o700)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert home.settings_file.read_bytes() == before


def test_damaged_settings_file_says_which_file_and_what_to_do(home: Home) -> None:
    configure(home)
    home.settings_file.write_text('{"host": "smtp.wp.pl", "po')
    for args in (
        ("settings", "show"),
        ("settings", "validate"),
        ("settings", "set", "port=25"),
    ):
        result = run(*args, "--home", str(home.root))
        assert result.returncode == 1, args
        assert str(home.settings_file) in result.stderr
        assert "popraw go" in result.stderr and "Traceback" not in result.stderr
    assert home.settings_file.read_text() == '{"host": "smtp.wp.pl", "po'
    shown = run("settings", "show", "--json", "--home", str(home.root))
    assert json.loads(shown.stdout)["ok"] is False
    assert json.loads(shown.stdout)["error"]["key"] == "storage.corrupt"


def test_secrets_file_others_can_read_stops_without_a_traceback(home: Home) -> None:
    configure(home)
    home.secrets_file.chmod(0o644)
    for args in (
        ("settings", "show"),
        ("settings", "set", "port=465"),
        ("settings", "validate"),
    ):
        result = run(*args, "--home", str(home.root))
        assert result.returncode == 1, (args, result.stderr)
        assert "Traceback" not in result.stderr, args
        assert f"chmod 600 {home.secrets_file}" in result.stderr
        assert CANARY not in result.stdout + result.stderr
    shown = run("settings", "show", "--json", "--home", str(home.root))
    report = json.loads(shown.stdout)
    assert report["ok"] is False and report["error"]["key"] == "storage.secrets_exposed"
    # Nothing repaired behind the user's back: they must chmod (and change
    # the password, which may have been read).
    assert stat.S_IMODE(home.secrets_file.stat().st_mode) == 0o644


# -- two writers, Ctrl-C ------------------------------------------------------------


def test_processes_saving_at_once_leave_one_whole_file_and_every_change(
    home: Home,
) -> None:
    configure(home)
    changes = [
        "display_name=Dział kadr",
        "account_name=Konto DMS",
        "reply_to=kadry@wp.pl",
        "description=Powiadomienia",
        "timeout=45",
        "rate_per_minute=20",
    ]
    procs = [
        subprocess.Popen(
            [BPMNB, "--home", str(home.root), "settings", "set", change]
            + (["--password-stdin"] if i % 2 else []),
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "BPMNB_SECRET_BACKEND": "file"},
        )
        for i, change in enumerate(changes)
    ]
    for i, proc in enumerate(procs):
        _, err = proc.communicate(f"hasło-{i}\n", timeout=60)
        assert proc.returncode == 0, err
    saved = json.loads(home.settings_file.read_text())
    # Each process loaded, changed one field and saved under the settings
    # lock: no change is lost to another process's older copy.
    for change in changes:
        name, _, value = change.partition("=")
        assert str(saved[name]) in (value, f"{value}.0"), name
    assert stored_password(home) in {f"hasło-{i}" for i in (1, 3, 5)}
    assert not list(home.root.glob(".*.tmp"))


_SAVER = """
import sys
from pathlib import Path
from bpmnb import storage
from bpmnb.home import Home
from bpmnb.settings import AccountSettings
home = Home(Path(sys.argv[1]))
versions = [
    AccountSettings(host="smtp.wp.pl", description="x" * n) for n in (0, 50000)
]
storage.save(home, versions[0])
print("ready", flush=True)
while True:
    for settings in versions:
        storage.save(home, settings)
"""


def test_ctrl_c_during_saves_leaves_the_old_or_the_new_file(home: Home) -> None:
    home.ensure()
    versions = [
        AccountSettings(host="smtp.wp.pl", description="x" * n).public_dict()
        for n in (0, 50000)
    ]
    for delay in (0.05, 0.2, 0.4):
        proc = subprocess.Popen(
            [sys.executable, "-c", _SAVER, str(home.root)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "BPMNB_SECRET_BACKEND": "file"},
        )
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(delay)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
        assert "KeyboardInterrupt" in err
        assert json.loads(home.settings_file.read_text()) in versions
        # A temporary file the interrupted writer could not remove (the
        # signal may land between creating and guarding it) is swept by
        # the next save, since its writer is gone.
        storage.save(home, AccountSettings(host="smtp.wp.pl"))
        assert not list(home.root.glob(".settings.json.*.tmp"))


# -- the form ------------------------------------------------------------------------


def _state(form: SettingsForm) -> str:
    return all_state(form.widget)


@pytest.fixture
def form(home: Home) -> Iterator[SettingsForm]:
    yield SettingsForm(home.ensure(), lang="pl")


def test_switching_presets_back_and_forth_keeps_what_the_user_typed(
    form: SettingsForm,
) -> None:
    form.apply(
        sender="jan.kowalski@gmail.com",
        display_name="Dział księgowości",
        description="konto powiadomień",
    )
    form.apply_preset(PRESETS["gmail"])
    assert form.fields["daily_cap"].value == "2000"
    form.apply_preset(PRESETS["wp"])
    # Gmail's cap was the preset's, not the user's: it goes with Gmail.
    assert form.fields["daily_cap"].value == ""
    assert form.fields["host"].value == "smtp.wp.pl"
    form.apply_preset(PRESETS["gmail"])
    form.fields["daily_cap"].value = "150"  # the user's own limit
    form.apply_preset(PRESETS["wp"])
    assert form.fields["daily_cap"].value == "150"
    for key, value in (
        ("sender", "jan.kowalski@gmail.com"),
        ("display_name", "Dział księgowości"),
        ("description", "konto powiadomień"),
    ):
        assert form.fields[key].value == value


def test_oauth_hides_the_password_and_drops_it_from_the_widget_state(
    form: SettingsForm,
) -> None:
    form.fields["password"].value = CANARY
    assert CANARY in _state(form)  # typed: the box holds it until it is used
    form.fields["auth"].value = "oauth2_office365"
    assert form._rows["password"].layout.display == "none"
    assert form.fields["password"].value == ""
    assert CANARY not in _state(form)
    form.fields["oauth.client_secret"].value = CANARY
    form.fields["auth"].value = "password"
    assert form.fields["oauth.client_secret"].value == ""
    assert CANARY not in _state(form)


def test_language_switch_keeps_values_and_moves_findings_with_them(
    form: SettingsForm,
) -> None:
    form.apply(host="smtp.wp.pl:465", port="4 65", sender="Jan <jan@wp.pl>")
    for lang, words in (
        ("pl", ("Nazwa serwera zawiera port", "Port musi być", "wpisz sam adres")),
        ("en", ("server name includes a port", "port must be", "bare address")),
    ):
        form.set_lang(lang)  # type: ignore[arg-type]
        assert form.fields["host"].value == "smtp.wp.pl:465"
        assert form.fields["port"].value == "4 65"
        assert words[0] in form.notes["host"].value
        assert words[1] in form.notes["port"].value
        assert words[2] in form.notes["sender"].value
        assert words[1] not in form.notes["host"].value
    assert form.save_button.disabled


def test_password_typed_in_the_form_is_saved_exactly(form: SettingsForm) -> None:
    form.apply(
        enabled=True,
        sender="jan@firma.pl",
        host="smtp.firma.pl",
        port="587",
        encryption="starttls",
        login="jan",
    )
    form.fields["password"].value = f"  {CANARY}\t"
    assert form.save()
    assert stored_password(form.home) == f"  {CANARY}\t"
    assert CANARY not in _state(form)


class _BrokenStore:
    description = "zepsuty"

    def get(self, name: str) -> str | None:
        return None

    def set(self, name: str, value: str) -> None:
        raise StoreError("storage.secrets_unwritable", file="/x", reason="dysk pełny")

    def delete(self, name: str) -> None:
        return None


def test_failure_inside_the_save_click_shows_in_the_form(home: Home) -> None:
    form = SettingsForm(home.ensure(), lang="pl", store=_BrokenStore())  # type: ignore[arg-type]
    form.apply(enabled=False, sender="jan@firma.pl", host="smtp.firma.pl", login="j")
    form.fields["password"].value = CANARY
    form.save_button.click()
    assert "dysk pełny" in form.error_area.value
    assert form.fields["password"].value == ""
    assert CANARY not in _state(form)
    assert not home.settings_file.exists()


def test_unwritable_home_shows_in_the_form(
    home: Home, monkeypatch: pytest.MonkeyPatch
) -> None:
    form = SettingsForm(home.ensure(), lang="en")
    form.apply(sender="jan@firma.pl", host="smtp.firma.pl")

    def refuse(*_a: object, **_k: object) -> Any:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("bpmnb.files.tempfile.mkstemp", refuse)
    form.save_button.click()
    assert "cannot be written: Permission denied" in form.error_area.value


# -- the command line as a whole ------------------------------------------------------


def _leaves() -> Iterator[tuple[list[str], click.Command]]:
    ctx = click.Context(main)
    for name in COMMANDS:
        command = main.get_command(ctx, name)
        assert command is not None
        if isinstance(command, click.Group):
            for sub_name, sub in command.commands.items():
                yield [name, sub_name], sub
        else:
            yield [name], command


def test_every_command_has_readable_help_and_takes_home_and_lang() -> None:
    for path, command in _leaves():
        result = CliRunner().invoke(main, [*path, "--help"])
        assert result.exit_code == 0, path
        assert "--home" in result.output and "--lang" in result.output, path
        assert "Traceback" not in result.output
        options = {o for p in command.params for o in getattr(p, "opts", ())}
        assert {"--home", "--lang"} <= options, path


def test_home_and_lang_after_the_command_name(home: Home) -> None:
    configure(home)
    result = CliRunner().invoke(
        main, ["settings", "show", "--home", str(home.root), "--lang", "en"]
    )
    assert result.exit_code == 0, result.output
    assert "Server name (host): smtp.wp.pl" in result.output
    # The last word wins: the command's own --home over the global one.
    empty = Home(home.root.parent / "pusty")
    result = CliRunner().invoke(
        main,
        ["--home", str(home.root), "settings", "show", "--home", str(empty.root)],
    )
    assert result.exit_code == 1 and str(empty.settings_file) in result.stderr


def test_unknown_command_suggests_the_nearest() -> None:
    result = run("setings", "show")
    assert result.returncode == 2
    assert "Did you mean 'settings'?" in result.stderr
    result = run("settings", "shwo")
    assert result.returncode == 2 and "'show'" in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["settings", "show", "--json"],
        ["settings", "validate", "--json"],
        ["check", "--json"],
        ["oauth", "status", "--json"],
        ["oauth", "preflight", "--json"],
        ["send-test", "--to", "a@b.pl", "--json"],
        ["queue", "show", "7", "--json"],
        ["detect", "nie-adres", "--json"],
    ],
)
def test_json_output_of_a_failure_is_json(home: Home, args: list[str]) -> None:
    result = cli(home, *args)
    assert result.exit_code in (1, 2), result.output
    report = json.loads(result.stdout)
    assert report["ok"] is False


def test_no_secret_in_any_output_or_file(home: Home, tmp_path: Path) -> None:
    configure(home)
    outputs = [
        cli(home, *args).output
        for args in (
            ("settings", "show"),
            ("settings", "show", "--json"),
            ("settings", "validate", "--json"),
            ("settings", "set", "port=abc"),
            ("settings", "export", str(tmp_path / "e.toml")),
        )
    ]
    verbose = run("-vv", "--home", str(home.root), "settings", "set", "port=465")
    assert verbose.returncode == 0 and "saved settings" in verbose.stderr
    outputs += [verbose.stdout, verbose.stderr]
    assert not any(CANARY in out for out in outputs)
    holders = [
        p
        for p in [*home.root.rglob("*"), tmp_path / "e.toml"]
        if p.is_file() and CANARY.encode() in p.read_bytes()
    ]
    assert holders == [home.secrets_file]
    settings = storage.load(home)
    assert settings is not None
    settings.password = CANARY  # type: ignore[assignment]
    assert CANARY not in repr(settings) and CANARY not in str(settings.public_dict())
    try:
        storage.save(home, settings.model_copy(update={"port": 25}))
    except BpmnbError as exc:
        assert CANARY not in str(exc)


# -- found later: tak/nie in files, OAuth with a password, own logins -----------


@pytest.mark.parametrize(("typed", "value"), [("tak", True), ("Nie ", False)])
def test_tak_and_nie_work_in_files_too(
    home: Home, tmp_path: Path, typed: str, value: bool
) -> None:
    # The error message says "wpisz tak/nie": a file saying "tak" must not
    # get that very message back.
    path = tmp_path / "konto.toml"
    path.write_text(f'enabled = "{typed}"\nhost = "smtp.firma.pl"\n')
    result = cli(home, "settings", "import", str(path))
    if value:  # enabled needs a sender and a login: errors, but not "enabled"
        assert result.exit_code == 2 and "enabled:" not in result.stderr
    else:
        assert result.exit_code == 0, result.output
        settings = storage.load(home)
        assert settings is not None and settings.enabled is False


def test_password_in_an_oauth_import_is_dropped_and_said_so(
    home: Home, tmp_path: Path
) -> None:
    path = tmp_path / "o365.json"
    path.write_text(
        json.dumps(
            {
                "sender": "anna@contoso.com",
                "host": "smtp.office365.com",
                "encryption": "starttls",
                "auth": "oauth2_office365",
                "login": "anna@contoso.com",
                "password": CANARY,
            }
        )
    )
    result = cli(home, "--lang", "en", "settings", "import", str(path))
    assert result.exit_code == 0, result.output
    assert "the password is not used" in result.stderr
    assert "went to" not in result.stdout  # it did not go to the store
    assert CANARY.encode() not in everything_in(home.root)


def test_a_login_the_user_typed_survives_switching_presets(form: SettingsForm) -> None:
    form.apply(sender="jan.kowalski@wp.pl")
    form.apply_preset(PRESETS["gmail"])
    assert form.fields["login"].value == "jan.kowalski@wp.pl"
    form.apply_preset(PRESETS["wp"])
    assert form.fields["login"].value == "jan.kowalski"  # the habit follows
    form.fields["login"].value = "konto-firmowe"
    form.apply_preset(PRESETS["gmail"])
    assert form.fields["login"].value == "konto-firmowe"


def test_a_refused_first_setting_creates_nothing(home: Home) -> None:
    result = cli(home, "settings", "set", "port=abc")
    assert result.exit_code == 2
    assert not home.root.exists()


def test_blank_home_is_refused_never_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # "--home $DIR" with DIR unset must not scatter settings and secrets in
    # whatever directory the shell is in.
    for args in (["--home", ""], ["settings", "set", "host=x.pl", "--home", " "]):
        result = subprocess.run(
            [
                BPMNB,
                *args,
                *(["settings", "set", "host=x.pl"] if args[0] == "--home" else []),
            ],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env={**os.environ, "BPMNB_SECRET_BACKEND": "file"},
            timeout=60,
        )
        assert result.returncode == 2 and "--home" in result.stderr, args
    assert list(tmp_path.iterdir()) == []
    monkeypatch.setenv("BPMNB_HOME", "  ")
    assert Home.resolve().root != Path.cwd() / "  "


def test_bad_recipient_in_the_test_message_is_named_at_to(home: Home) -> None:
    from bpmnb.widgets import TestMessage

    home.ensure()
    settings = AccountSettings(
        enabled=True, sender="jan@firma.pl", host="127.0.0.1", port=2525
    )
    for lang, word in (("pl", "nie jest poprawnym adresem"), ("en", "not a valid")):
        test = TestMessage(
            home, lang=lang, settings=lambda: settings, to="anna@firma.pl, x@@y"
        )
        assert test.send(wait=0.1) is None
        assert word in test.notes["to"].value, test.notes
        assert test.notes["subject"].value == ""


def test_saving_over_a_damaged_file_keeps_a_copy_of_it(
    home: Home, tmp_path: Path
) -> None:
    # The message said "nothing was overwritten"; the form (which starts
    # empty then) or an import may replace the file, but not lose it.
    home.ensure()
    damaged = b'{"host": "smtp.wp.pl", "sender": "jan@wp.pl", "login": "ja'
    home.settings_file.write_bytes(damaged)
    form = SettingsForm(home, lang="pl")
    assert str(home.settings_file) in form.error_area.value
    form.apply(host="smtp.wp.pl", sender="jan@wp.pl")
    assert form.save()
    backup = home.root / "settings.json.damaged"
    assert backup.read_bytes() == damaged
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    # A damaged file that may hold a password is not copied anywhere.
    home.settings_file.write_bytes(b'{"password": "' + CANARY.encode())
    backup.unlink()
    assert form.save()
    assert not backup.exists()
    assert CANARY.encode() not in everything_in(home.root)


def test_an_emptied_number_field_says_nothing_was_given() -> None:
    _, findings = rules.parse({"port": "", "timeout": " "})
    texts = {f.field: f.text for f in findings}
    assert texts["port"].pl.endswith("(podano: nic).")
    assert texts["timeout"].en.endswith("(given: nothing).")


@pytest.mark.parametrize("pair", ["Password=" + CANARY, " PASSWORD =" + CANARY])
def test_password_in_argv_is_refused_in_any_spelling(home: Home, pair: str) -> None:
    result = cli(home, "settings", "set", pair)
    assert result.exit_code == 2
    assert "--password-stdin" in result.stderr
    assert CANARY not in result.output
    assert not home.root.exists()


def test_show_does_not_let_a_value_drive_the_terminal(home: Home) -> None:
    configure(home)
    result = cli(home, "settings", "set", "description=przed\x1b[2Jpo\nlinia 2")
    assert result.exit_code == 0, result.output
    shown = cli(home, "settings", "show")
    assert "\x1b" not in shown.stdout
    assert "przed\\x1b[2Jpo\nlinia 2" in shown.stdout


@pytest.mark.parametrize(
    "pasted",
    [
        " Jan.Kowalski@WP.PL ",
        "Jan Kowalski <jan.kowalski@wp.pl>",
        "jan.kowalski@wp.pl\u200b",
        f"jan.kowalski@wp.pl{NBSP}",
        "mailto:jan.kowalski@wp.pl",
        "\tJAN.KOWALSKI@wp.pl\n",
    ],
)
def test_detect_reads_an_address_as_pasted(home: Home, pasted: str) -> None:
    from bpmnb import detect

    found = detect.detect(pasted, network=False)
    assert found is not None and found.host == "smtp.wp.pl"
    assert found.email.lower() == "jan.kowalski@wp.pl"
    assert found.login.lower() == "jan.kowalski"  # WP: the part before @
    result = cli(home, "detect", pasted, "--no-network", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["host"] == "smtp.wp.pl"


@pytest.mark.parametrize("pasted", ["jan kowalski@wp.pl", "jan@", "<>", "mailto:"])
def test_detect_still_refuses_what_is_not_an_address(pasted: str) -> None:
    from bpmnb import detect

    with pytest.raises(detect.AddressError) as caught:
        detect.detect(pasted, network=False)
    assert pasted in caught.value.message("en")


def test_a_damaged_file_stays_named_in_the_form_in_either_language(
    home: Home,
) -> None:
    home.ensure()
    home.settings_file.write_text('{"host": ')
    form = SettingsForm(home, lang="pl")
    assert "jest uszkodzony" in form.error_area.value
    form.fields["host"].value = "smtp.wp.pl"  # the first keystroke
    assert str(home.settings_file) in form.error_area.value
    form.set_lang("en")
    assert "is damaged" in form.error_area.value
    form.apply(sender="jan@wp.pl")
    assert form.save()
    assert form.error_area.value == ""


def test_choices_in_capitals_are_the_same_choices(home: Home) -> None:
    configure(home)
    result = cli(
        home,
        "settings",
        "set",
        "encryption=SSL",
        "auth=Password",
        "delivery_component=INPROCESS",
        "server_type=smtp",
    )
    assert result.exit_code == 0, result.output
    saved = json.loads(home.settings_file.read_text())
    assert (saved["encryption"], saved["auth"], saved["server_type"]) == (
        "ssl",
        "password",
        "SMTP",
    )
    # Deliberate: "tls" is refused, not guessed. Comarch's form calls
    # STARTTLS "TLS", others call implicit TLS so; the message lists both.
    result = cli(home, "settings", "set", "encryption=TLS")
    assert result.exit_code == 2 and "starttls (TLS)" in result.stderr


@pytest.mark.parametrize(
    ("data", "field", "value"),
    [
        ({"timeout": "7,5"}, "timeout", 7.5),
        ({"daily_cap": "2 000"}, "daily_cap", 2000),
        ({"daily_cap": f"10{NBSP}000"}, "daily_cap", 10000),
        ({"rate_per_minute": "\u202f20 "}, "rate_per_minute", 20),
    ],
)
def test_numbers_written_the_polish_way(
    data: dict[str, str], field: str, value: float
) -> None:
    settings, findings = rules.parse(data)
    assert settings is not None, findings
    assert getattr(settings, field) == value


@pytest.mark.parametrize(
    "data", [{"rate_per_minute": "1 20"}, {"timeout": "1,2,3"}, {"port": "4 65"}]
)
def test_numbers_that_are_only_almost_numbers_are_still_errors(
    data: dict[str, str],
) -> None:
    # "1 20" is not a thousands group: a typo the user must see.
    settings, findings = rules.parse(data)
    assert settings is None and [f.field for f in findings] == list(data)


def test_a_failed_save_changes_neither_settings_nor_password(
    home: Home, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = configure(home)
    settings = storage.load(home)
    assert settings is not None

    def full_disk(*_a: object, **_k: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(storage, "_write_json", full_disk)
    changed = settings.model_copy(update={"display_name": "Nowa"})
    changed.password = "nowe-hasło"  # type: ignore[assignment]
    with pytest.raises(storage.StorageWriteError) as caught:
        storage.save(home, changed)
    assert "No space left on device" in caught.value.message("en")
    assert "nowe-hasło" not in caught.value.describe("pl")
    assert home.settings_file.read_bytes() == before
    assert stored_password(home) == CANARY
    # The first save of a home: no password is left behind either.
    other = Home(home.root.parent / "pierwszy")
    with pytest.raises(OSError):
        storage.save(other, changed)
    assert stored_password(other) is None


@pytest.mark.parametrize("args", [["queue", "list"], ["queue", "show", "1", "--json"]])
def test_a_damaged_queue_file_is_named_with_what_to_do(
    home: Home, args: list[str]
) -> None:
    home.ensure()
    home.queue_file.write_bytes(b"to nie jest baza SQLite" * 100)
    result = cli(home, "--lang", "en", *args)
    assert result.exit_code == 1
    assert f"The mail queue {home.queue_file} cannot be used" in result.stderr
    assert "Move the file elsewhere" in result.stderr
    assert isinstance(result.exception, SystemExit)  # not a traceback
    if "--json" in args:
        assert json.loads(result.stdout)["error"]["key"] == "storage.queue_unusable"


def test_settings_set_help_lists_every_field_it_takes() -> None:
    from bpmnb.settings import EDITABLE_FIELDS, OAuthSettings

    text = " ".join(
        CliRunner().invoke(main, ["settings", "set", "--help"]).output.split()
    )
    for name in EDITABLE_FIELDS:
        if name not in ("oauth", "password"):
            assert name in text, name
    for name in OAuthSettings.model_fields:
        assert f"oauth.{name}" in text, name
    assert "--password-stdin" in text


def test_a_loaded_login_follows_a_new_sender_and_preset(home: Home) -> None:
    # The browser scenario: the form opens with the sandbox's account, the
    # user types another sender and picks WP; the old login was not typed by
    # them and must not stay.
    home.ensure()
    storage.save(
        home,
        AccountSettings(
            sender="powiadomienia@example.com",
            host="127.0.0.1",
            login="powiadomienia@example.com",
        ),
    )
    form = SettingsForm(home, lang="pl")
    form.fields["sender"].value = "jankowalski@wp.pl"
    form.apply_preset(PRESETS["wp"])
    assert form.fields["login"].value == "jankowalski"
