"""The rules that check account settings and name each problem at its field.

Two steps, both producing :class:`Finding` objects that the CLI, the widgets
and delivery show next to the field concerned:

- :func:`parse` turns user data (JSON, TOML, widget values) into
  :class:`~bpmnb.settings.AccountSettings`, translating the model's type and
  range errors into bilingual findings;
- :func:`check` looks at valid settings the way a careful administrator
  would: required fields, header safety, port and encryption pairings, the
  Comarch cloud's open ports, and the habits of known providers.

Errors block saving and sending; warnings are advice. A disabled draft
(``enabled`` false) may be incomplete: missing fields are warnings then,
unless the settings are about to be used for sending.
"""

from __future__ import annotations

import ipaddress
import os
import re
import ssl
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from email.utils import parseaddr
from pathlib import Path
from typing import Literal

from email_validator import EmailNotValidError, validate_email
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from bpmnb import presets
from bpmnb.i18n import Lang, Msg, text
from bpmnb.presets import Preset
from bpmnb.settings import (
    INVISIBLE,
    AccountSettings,
    AuthMethod,
    DeliveryComponent,
    Encryption,
    OAuthFlow,
    OAuthSettings,
)

Level = Literal["error", "warning"]

GMAIL_WALKTHROUGH = "04_gmail.ipynb"
"""The notebook that shows how to create a Gmail app password."""

LOOPBACK_HOSTS: tuple[str, ...] = ("localhost", "127.0.0.1", "::1")

# Fields whose values end up in message headers or SMTP commands; a CR, LF or
# NUL in them would let a value start a new header line (RFC 5322 section 2.2)
# or a new SMTP command (RFC 5321 section 2.3.8).
_LINE_FIELDS: tuple[str, ...] = (
    "account_name",
    "sender",
    "display_name",
    "reply_to",
    "host",
    "login",
    "ca_file",
)
_OAUTH_LINE_FIELDS: tuple[str, ...] = (
    "tenant_id",
    "client_id",
    "cert_file",
    "cert_thumbprint",
    "send_as",
    "authority_host",
)
# Also the other control characters RFC 5322 (section 2.2) does not allow in
# a header, and what Python's email package folds lines at (U+0085, U+2028,
# U+2029): bpmnb.message refuses them when sending, so the form names them
# at their field when saving. TAB is white space and allowed.
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f\x85\u2028\u2029]")
# Free text where a joiner may be meant (emoji sequences, some scripts).
_NAME_FIELDS: tuple[str, ...] = ("account_name", "display_name")
_GUID = re.compile(r"[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")
_HOST_LABEL = re.compile(r"[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?")
_APP_PASSWORD = re.compile(r"[a-z]{16}")


@dataclass(frozen=True)
class Finding:
    """One problem with the settings, at ``field`` (None: the whole account).

    ``key`` is the catalogue key (stable, for tests and JSON); ``text`` is the
    sentence in both languages with its values filled in.
    """

    field: str | None
    level: Level
    key: str
    text: Msg

    def as_json(self) -> dict[str, object]:
        return {
            "field": self.field,
            "level": self.level,
            "key": self.key,
            "pl": self.text.pl,
            "en": self.text.en,
        }


def message(key: str, /, **fields: object) -> Msg:
    """The catalogue sentence ``key`` in both languages.

    A field value that is itself a :class:`Msg` (a label, a choice name) is
    filled in the matching language.
    """

    def fill(lang: Lang) -> str:
        values = {
            k: v.get(lang) if isinstance(v, Msg) else v for k, v in fields.items()
        }
        return text(key, lang, **values)

    return Msg(fill("pl"), fill("en"))


def label(field: str) -> Msg:
    """The label of a settings field (``oauth.tenant_id`` style for nested)."""
    from bpmnb.catalog import CATALOG

    leaf = field.rsplit(".", 1)[-1]
    for key in (f"field.{field.replace('.', '_')}", f"field.{leaf}"):
        if key in CATALOG:
            return CATALOG[key]
    return Msg(field, field)


def _choice(enum_name: str, value: str) -> Msg:
    from bpmnb.catalog import CATALOG

    return CATALOG.get(f"choice.{enum_name}.{value}", Msg(value, value))


def _finding(at: str | None, level: Level, key: str, /, **fields: object) -> Finding:
    return Finding(at, level, key, message(key, **fields))


def errors(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.level == "error"]


def warnings(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.level == "warning"]


# --------------------------------------------------------------------------
# Parsing


def _allowed_fields(nested: bool) -> str:
    names = OAuthSettings.model_fields if nested else AccountSettings.model_fields
    return ", ".join(names)


_ENUM_OF_FIELD: dict[str, tuple[str, tuple[str, ...]]] = {
    "encryption": ("encryption", tuple(Encryption)),
    "auth": ("auth", tuple(AuthMethod)),
    "delivery_component": ("delivery_component", tuple(DeliveryComponent)),
    "oauth.flow": ("oauth_flow", tuple(OAuthFlow)),
}


def _shown(value: object) -> str:
    """A user value as it may appear in a message: short, one line."""
    shown = repr(value) if not isinstance(value, str) else value
    shown = _CONTROL.sub(" ", shown)
    return shown if len(shown) <= 60 else shown[:57] + "..."


def _from_pydantic(error: ErrorDetails) -> Finding:
    loc = [str(part) for part in error["loc"]]
    field = ".".join(loc) if loc else None
    kind = error["type"]
    given = error.get("input")
    value: str | Msg = (
        Msg("nic", "nothing") if isinstance(given, str) and not given else _shown(given)
    )
    if kind == "extra_forbidden":
        nested = len(loc) > 1
        return _finding(
            field,
            "error",
            "rules.unknown_field",
            field=field,
            allowed=_allowed_fields(nested),
        )
    if field is None or kind == "model_type" or kind == "dict_type":
        return _finding(field, "error", "rules.not_mapping")
    if field == "password":
        # Never echo what was typed into the password field.
        return _finding(
            field, "error", "rules.invalid_value", label=label(field), reason="str"
        )
    if field == "port":
        return _finding(field, "error", "rules.port_range", value=value)
    if field == "timeout":
        return _finding(field, "error", "rules.timeout_range", value=value)
    if field in ("daily_cap", "rate_per_minute"):
        return _finding(
            field, "error", "rules.positive_int", label=label(field), value=value
        )
    if field == "server_type":
        return _finding(field, "error", "rules.server_type")
    if field in _ENUM_OF_FIELD:
        enum_name, values = _ENUM_OF_FIELD[field]
        allowed = Msg(
            ", ".join(f"{v} ({_choice(enum_name, v).pl})" for v in values),
            ", ".join(f"{v} ({_choice(enum_name, v).en})" for v in values),
        )
        return _finding(
            field,
            "error",
            "rules.choice",
            label=label(field),
            value=value,
            allowed=allowed,
        )
    if kind.startswith("bool"):
        return _finding(
            field, "error", "rules.boolean", label=label(field), value=value
        )
    if kind.startswith("string"):
        return _finding(field, "error", "rules.text", label=label(field), value=value)
    return _finding(
        field, "error", "rules.invalid_value", label=label(field), reason=error["msg"]
    )


def parse(data: Mapping[str, object]) -> tuple[AccountSettings | None, list[Finding]]:
    """Build settings from user data; type and range errors become findings.

    Returns ``(settings, [])`` or ``(None, findings)``; it does not run
    :func:`check`, so callers decide when incomplete settings matter.
    """
    if not isinstance(data, Mapping):
        return None, [_finding(None, "error", "rules.not_mapping")]
    try:
        return AccountSettings.model_validate(dict(data)), []
    except ValidationError as exc:
        return None, [_from_pydantic(error) for error in exc.errors()]


def review(
    data: Mapping[str, object],
    *,
    password_stored: bool = False,
    for_sending: bool = False,
) -> tuple[AccountSettings | None, list[Finding]]:
    """Every finding for user data at once: type errors and the rules.

    When some fields cannot be read (a port of "abc"), the rules still run on
    the others, with those fields at their defaults, so the user sees every
    problem in one pass instead of one round per fix. Findings about a field
    that could not be read are left out: its type error says it already.
    Returns the settings only when every field could be read.
    """
    settings, problems = parse(data)
    if settings is not None:
        return settings, check(
            settings, password_stored=password_stored, for_sending=for_sending
        )
    unreadable = {f.field.split(".", 1)[0] for f in problems if f.field}
    if not isinstance(data, Mapping) or None in {f.field for f in problems}:
        return None, problems
    rest = {k: v for k, v in data.items() if k not in unreadable}
    partial, _ = parse(rest)
    if partial is None:
        return None, problems
    more = check(partial, password_stored=password_stored, for_sending=for_sending)
    return None, problems + [
        f for f in more if (f.field or "").split(".", 1)[0] not in unreadable
    ]


# --------------------------------------------------------------------------
# Helpers shared by the checks


def normalize_app_password(value: str) -> str:
    """An app password without the spaces Google shows it with.

    Google displays app passwords as four groups of four letters; the groups
    are for reading only, so spaces (and non-breaking spaces copied from a
    web page), invisible characters and the dashes some password managers
    put between the groups are removed.
    """
    return "".join(
        ch for ch in value if not ch.isspace() and ch not in INVISIBLE and ch != "-"
    )


def is_loopback(host: str) -> bool:
    return host.lower().strip("[]") in LOOPBACK_HOSTS


def _domain(address: str) -> str:
    return address.rsplit("@", 1)[-1].lower().rstrip(".") if "@" in address else ""


def _is_google(settings: AccountSettings) -> bool:
    gmail = presets.PRESETS["gmail"]
    return (
        settings.host.lower().rstrip(".") in presets.GOOGLE_HOSTS
        or _domain(settings.sender) in gmail.domains
    )


def _address_problem(value: str) -> str | None:
    """The catalogue key saying what is wrong with an address, or None."""
    if "<" in value or ">" in value:
        return "rules.address_with_name"
    if "@" not in value:
        return "rules.address_no_at"
    try:
        # No DNS lookups here (check_deliverability=False): rules must work
        # offline; internationalised domains (IDNA) are accepted.
        validate_email(value, check_deliverability=False, allow_quoted_local=True)
    except EmailNotValidError:
        return "rules.address_invalid"
    return None


def _valid_ipv6(value: str) -> bool:
    try:
        # Bare form only: socket APIs take "::1", not the URL form "[::1]".
        ipaddress.IPv6Address(value)
    except ValueError:
        return False
    return True


def _host_finding(host: str) -> Finding | None:
    """Why ``host`` is not a bare server name, or None when it is one."""
    if "://" in host:
        scheme, _, rest = host.partition("://")
        bare = re.split(r"[/:]", rest, maxsplit=1)[0] or "smtp.domena.pl"
        return _finding("host", "error", "rules.host_scheme", scheme=scheme, bare=bare)
    if any(ch.isspace() for ch in host):
        return _finding("host", "error", "rules.host_space")
    if "@" in host:
        return _finding("host", "error", "rules.host_at", domain=_domain(host))
    if not _valid_ipv6(host):
        with_port = re.fullmatch(r"([^:/]+):(\d+)/?", host)
        if with_port:
            return _finding(
                "host",
                "error",
                "rules.host_port",
                bare=with_port.group(1),
                port=with_port.group(2),
            )
    if "/" in host:
        return _finding("host", "error", "rules.host_path")
    if _valid_ipv6(host):
        return None
    try:
        ipaddress.IPv4Address(host)
    except ValueError:
        pass
    else:
        return None
    name = host.rstrip(".")
    try:
        # Python's codec implements IDNA 2003, enough to turn a Polish
        # server name into its ASCII form (RFC 3490) and to catch empty or
        # over-long labels.
        ascii_name = name.encode("idna").decode("ascii").lower()
    except UnicodeError:
        ascii_name = ""
    if (
        not ascii_name
        or len(ascii_name) > 253
        or not all(_HOST_LABEL.fullmatch(lab) for lab in ascii_name.split("."))
        # An all-digit last label is a mistyped IPv4 address, which the
        # resolver would read in surprising ways ("1.2.3" is 1.2.0.3).
        or ascii_name.rsplit(".", 1)[-1].isdigit()
    ):
        return _finding("host", "error", "rules.host_invalid", value=_shown(host))
    return None


def _pair_matches(port: int, encryption: Encryption, documented: Encryption) -> bool:
    """Whether ``encryption`` on ``port`` amounts to the documented mode.

    "Automatic" means implicit TLS on 465 and STARTTLS elsewhere, so it
    matches whichever the provider documents for that port.
    """
    if encryption is documented:
        return True
    if encryption is Encryption.AUTO:
        return (port == 465) == (documented is Encryption.SSL)
    return False


def port_request(settings: AccountSettings, lang: Lang) -> str:
    """The text of an email asking Comarch cloud support to open a port.

    The Comarch cloud opens ports 25, 465 and 587 only; any other port needs
    a request to its support address. Notebooks and the form show this text
    ready to copy.
    """
    subject = text("rules.port_request.subject", lang, port=settings.port)
    return text(
        "rules.port_request.body",
        lang,
        support=presets.CLOUD_SUPPORT_ADDRESS,
        subject=subject,
        port=settings.port,
        host=settings.host or "?",
        account=settings.account_name or settings.sender or "?",
        sender=settings.sender or "?",
    )


# --------------------------------------------------------------------------
# Checks


def _header_safety(settings: AccountSettings) -> tuple[list[Finding], set[str]]:
    findings: list[Finding] = []
    tainted: set[str] = set()
    values = [(name, getattr(settings, name)) for name in _LINE_FIELDS] + [
        (f"oauth.{name}", getattr(settings.oauth, name)) for name in _OAUTH_LINE_FIELDS
    ]
    for field, value in values:
        if not isinstance(value, str):
            continue
        if _CONTROL.search(value):
            findings.append(
                _finding(field, "error", "rules.control_chars", label=label(field))
            )
            tainted.add(field)
        elif field not in _NAME_FIELDS and (
            hidden := next((ch for ch in value if ch in INVISIBLE), None)
        ):
            # Copied from a web page: the value looks right on screen, yet
            # DNS, the server or the address parser would see another one.
            findings.append(
                _finding(
                    field,
                    "error",
                    "rules.invisible_char",
                    label=label(field),
                    code=f"U+{ord(hidden):04X}",
                )
            )
            tainted.add(field)
    return findings, tainted


def _password_value(settings: AccountSettings) -> str:
    return settings.password.get_secret_value() if settings.password else ""


def _check_addresses(settings: AccountSettings, tainted: set[str]) -> list[Finding]:
    findings = []
    for field, value in (
        ("sender", settings.sender),
        ("reply_to", settings.reply_to),
        ("oauth.send_as", settings.oauth.send_as or ""),
    ):
        if not value or field in tainted:
            continue
        key = _address_problem(value)
        if key:
            # "Jan Kowalski <jan@wp.pl>" pasted from a mail client: show the
            # address to keep, not an example.
            bare = parseaddr(value)[1]
            address = (
                _shown(bare)
                if "@" in bare
                else Msg("np. jan@firma.pl", "e.g. jan@example.com")
            )
            findings.append(
                _finding(
                    field,
                    "error",
                    key,
                    label=label(field),
                    value=_shown(value),
                    address=address,
                )
            )
    return findings


def _check_required(
    settings: AccountSettings,
    level: Level,
    has_password: bool,
    preset: Preset | None,
) -> list[Finding]:
    findings = []
    for field in ("sender", "host"):
        if not getattr(settings, field):
            findings.append(
                _finding(field, level, "rules.required", label=label(field))
            )
    if settings.auth is AuthMethod.PASSWORD:
        if not settings.login:
            if has_password:
                findings.append(_finding("login", level, "rules.login_for_password"))
            elif preset is not None:
                findings.append(
                    _finding(
                        "login", level, "rules.login_required", provider=preset.name
                    )
                )
            else:
                findings.append(_finding("login", "warning", "rules.no_auth"))
        elif not has_password:
            findings.append(_finding("password", level, "rules.password_required"))
    else:
        if not settings.login:
            findings.append(
                _finding("login", level, "rules.required", label=label("login"))
            )
        for name in ("tenant_id", "client_id"):
            if not getattr(settings.oauth, name):
                field = f"oauth.{name}"
                findings.append(
                    _finding(field, level, "rules.required", label=label(field))
                )
        if (
            settings.oauth.flow is OAuthFlow.CERTIFICATE
            and not settings.oauth.cert_file
        ):
            findings.append(
                _finding(
                    "oauth.cert_file",
                    level,
                    "rules.required",
                    label=label("oauth.cert_file"),
                )
            )
    return findings


def _check_transport(settings: AccountSettings, has_credentials: bool) -> list[Finding]:
    findings = []
    port, enc = settings.port, settings.encryption
    if not 1 <= port <= 65535:
        findings.append(_finding("port", "error", "rules.port_range", value=port))
        return findings
    # RFC 8314: 465 is implicit TLS ("SSL/TLS"); 587 (RFC 6409) and 25
    # (RFC 5321) start in clear text and upgrade with STARTTLS (RFC 3207).
    if enc is Encryption.SSL and port in (25, 587):
        findings.append(
            _finding("encryption", "error", "rules.ssl_on_starttls_port", port=port)
        )
    if enc in (Encryption.STARTTLS, Encryption.NONE) and port == 465:
        findings.append(_finding("encryption", "error", "rules.plain_on_465"))
    if enc is Encryption.NONE and has_credentials:
        findings.append(
            _finding("encryption", "warning", "rules.cleartext_credentials")
        )
    # The request names the server, so it waits for a valid one; this
    # machine's own ports (the sandbox) are no business of the cloud's.
    if (
        port not in presets.CLOUD_OPEN_PORTS
        and settings.host
        and not is_loopback(settings.host)
        and _host_finding(settings.host) is None
    ):
        findings.append(
            _finding(
                "port",
                "warning",
                "rules.port_not_open",
                port=port,
                support=presets.CLOUD_SUPPORT_ADDRESS,
                request=Msg(port_request(settings, "pl"), port_request(settings, "en")),
            )
        )
    if settings.timeout < 1:
        findings.append(
            _finding(
                "timeout", "warning", "rules.timeout_short", value=settings.timeout
            )
        )
    elif settings.timeout > 120:
        findings.append(
            _finding("timeout", "warning", "rules.timeout_long", value=settings.timeout)
        )
    return findings


def _pem_finding(field: str, path_text: str, key_missing: str) -> Finding | None:
    path = Path(path_text).expanduser()
    if not path.exists():
        return _finding(field, "error", key_missing, path=path)
    try:
        content = path.read_bytes()
    except OSError as exc:
        return _finding(
            field, "error", "rules.ca_file_unreadable", path=path, reason=exc.strerror
        )
    if b"-----BEGIN CERTIFICATE-----" not in content:
        return _finding(field, "error", "rules.ca_file_not_pem", path=path)
    return None


def _check_ca_file(settings: AccountSettings, tainted: set[str]) -> list[Finding]:
    if not settings.ca_file or "ca_file" in tainted:
        return []
    problem = _pem_finding("ca_file", settings.ca_file, "rules.ca_file_missing")
    if problem:
        return [problem]
    try:
        ssl.create_default_context().load_verify_locations(
            cafile=str(Path(settings.ca_file).expanduser())
        )
    except (ssl.SSLError, OSError, ValueError):
        return [
            _finding("ca_file", "error", "rules.ca_file_not_pem", path=settings.ca_file)
        ]
    return []


def _check_oauth(settings: AccountSettings, tainted: set[str]) -> list[Finding]:
    findings = []
    host = settings.host.lower().rstrip(".")
    if _is_google(settings):
        return [_finding("auth", "error", "rules.google_oauth")]
    if host and host not in presets.OFFICE365_HOSTS:
        if is_loopback(host):
            findings.append(
                _finding("auth", "warning", "rules.oauth_loopback", host=host)
            )
        else:
            findings.append(
                _finding(
                    "auth",
                    "error",
                    "rules.oauth_office365_only",
                    host=settings.host,
                    hosts=", ".join(presets.OFFICE365_HOSTS),
                )
            )
    if settings.encryption is Encryption.NONE and not is_loopback(host):
        findings.append(_finding("encryption", "error", "rules.oauth_encryption"))
    if settings.password is not None and _password_value(settings):
        findings.append(_finding("password", "warning", "rules.password_unused"))
    oauth = settings.oauth
    if oauth.client_id and "oauth.client_id" not in tainted:
        if not _GUID.fullmatch(oauth.client_id):
            findings.append(
                _finding(
                    "oauth.client_id",
                    "warning",
                    "rules.oauth_client_id",
                    value=_shown(oauth.client_id),
                )
            )
    authority = oauth.authority_host
    if "oauth.authority_host" not in tainted and not authority.startswith("https://"):
        local = re.fullmatch(
            r"http://(localhost|127\.0\.0\.1|\[::1\])(:\d+)?/?.*", authority
        )
        if not local:
            findings.append(
                _finding(
                    "oauth.authority_host",
                    "error",
                    "rules.oauth_authority",
                    value=_shown(authority),
                )
            )
    if (
        oauth.flow is OAuthFlow.CERTIFICATE
        and oauth.cert_file
        and "oauth.cert_file" not in tainted
    ):
        path = Path(oauth.cert_file).expanduser()
        if not path.is_file() or not os.access(path, os.R_OK):
            findings.append(
                _finding("oauth.cert_file", "error", "rules.oauth_cert_file", path=path)
            )
    return findings


def _documented_pairs(preset: Preset) -> tuple[tuple[int, Encryption], ...]:
    return ((preset.port, preset.encryption), *preset.alternatives)


def _check_provider(
    settings: AccountSettings, preset: Preset | None, tainted: set[str]
) -> list[Finding]:
    findings: list[Finding] = []
    sender_domain = _domain(settings.sender) if "sender" not in tainted else ""
    host = settings.host.lower().rstrip(".")

    if preset is not None:
        pairs = _documented_pairs(preset)
        if not any(
            port == settings.port
            and _pair_matches(settings.port, settings.encryption, enc)
            for port, enc in pairs
        ):
            if preset.key == "wp":
                findings.append(_finding("port", "warning", "rules.wp_port"))
            else:
                documented = Msg(
                    ", ".join(f"{p} {_choice('encryption', e).pl}" for p, e in pairs),
                    ", ".join(f"{p} {_choice('encryption', e).en}" for p, e in pairs),
                )
                findings.append(
                    _finding(
                        "port",
                        "warning",
                        "rules.provider_port",
                        provider=preset.name,
                        host=preset.host,
                        documented=documented,
                        port=settings.port,
                        encryption=_choice("encryption", settings.encryption),
                    )
                )

        login = settings.login
        if settings.auth is AuthMethod.PASSWORD and login and "login" not in tainted:
            own = settings.sender if sender_domain in preset.domains else ""
            if preset.login == "address" and "@" not in login:
                expected = own or f"{login}@{preset.domains[0]}"
                key = (
                    "rules.onet_login"
                    if preset.key == "onet"
                    else "rules.login_address"
                )
                findings.append(
                    _finding(
                        "login", "warning", key, provider=preset.name, expected=expected
                    )
                )
            elif preset.login == "local" and "@" in login:
                findings.append(
                    _finding(
                        "login",
                        "warning",
                        "rules.login_local",
                        provider=preset.name,
                        expected=login.split("@", 1)[0],
                    )
                )
            elif (
                preset.login == "address"
                and preset.key != "office365"
                and settings.sender
                and login.lower() != settings.sender.lower()
                and sender_domain in preset.domains
            ):
                findings.append(
                    _finding(
                        "sender",
                        "warning",
                        "rules.sender_not_login",
                        provider=preset.name,
                        login=login,
                        sender=settings.sender,
                    )
                )

        if preset.app_password and settings.auth is AuthMethod.PASSWORD:
            password = _password_value(settings)
            if (
                preset.key == "gmail"
                and password
                and not _APP_PASSWORD.fullmatch(normalize_app_password(password))
            ):
                findings.append(
                    _finding("password", "warning", "rules.gmail_app_password")
                )

        # Office 365 tenants send from their own verified domains, which we
        # cannot know; every other provider sends only from its own domains.
        if (
            sender_domain
            and preset.domains
            and preset.key != "office365"
            and sender_domain not in preset.domains
        ):
            findings.append(
                _finding(
                    "sender",
                    "warning",
                    "rules.sender_foreign_domain",
                    sender=settings.sender,
                    provider=preset.name,
                    domains=", ".join(preset.domains[:4])
                    + (", ..." if len(preset.domains) > 4 else ""),
                    host=settings.host,
                )
            )

        if (
            preset.daily_cap is not None
            and settings.daily_cap is not None
            and settings.daily_cap > preset.daily_cap
        ):
            findings.append(
                _finding(
                    "daily_cap",
                    "warning",
                    "rules.daily_cap_above_provider",
                    provider=preset.name,
                    cap=preset.daily_cap,
                    value=settings.daily_cap,
                )
            )
    elif sender_domain and host and not is_loopback(host) and "host" not in tainted:
        owner = presets.by_domain(sender_domain)
        if owner is not None:
            findings.append(
                _finding(
                    "host",
                    "warning",
                    "rules.sender_provider_host",
                    domain=sender_domain,
                    expected=owner.host,
                    provider=owner.name,
                    host=settings.host,
                )
            )
    return findings


def check(
    settings: AccountSettings,
    *,
    password_stored: bool = False,
    for_sending: bool = False,
) -> list[Finding]:
    """Every finding for ``settings``.

    ``password_stored`` says a password exists in the secret store even though
    ``settings.password`` is empty. ``for_sending`` makes incomplete settings
    errors even when sending is disabled (a disabled draft may be saved).
    A password in ``$BPMNB_PASSWORD`` counts as present, as it does for
    :func:`bpmnb.credentials.for_settings`.
    """
    findings, tainted = _header_safety(settings)
    required_level: Level = "error" if settings.enabled or for_sending else "warning"
    password = _password_value(settings)
    has_password = bool(password or password_stored or os.environ.get("BPMNB_PASSWORD"))
    host_problem = (
        _host_finding(settings.host)
        if settings.host and "host" not in tainted
        else None
    )
    if host_problem:
        findings.append(host_problem)
        tainted.add("host")
    preset = presets.by_host(settings.host) if "host" not in tainted else None

    findings += _check_addresses(settings, tainted)
    findings += _check_required(settings, required_level, has_password, preset)
    if "\x00" in password:
        findings.append(_finding("password", "error", "rules.password_nul"))
    has_credentials = bool(settings.login) and (
        has_password or settings.auth is AuthMethod.OAUTH2_OFFICE365
    )
    findings += _check_transport(settings, has_credentials)
    findings += _check_ca_file(settings, tainted)
    if settings.auth is AuthMethod.OAUTH2_OFFICE365:
        findings += _check_oauth(settings, tainted)
    findings += _check_provider(settings, preset, tainted)
    return _ordered(findings)


def _ordered(findings: Iterable[Finding]) -> list[Finding]:
    """Findings in the order of the form's fields, errors first per field."""
    order = {name: i for i, name in enumerate(AccountSettings.model_fields)}

    def position(f: Finding) -> tuple[int, int]:
        root = (f.field or "").split(".", 1)[0]
        return (order.get(root, -1), 0 if f.level == "error" else 1)

    return sorted(findings, key=position)
