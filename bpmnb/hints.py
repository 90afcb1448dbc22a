"""What to do about a fault, told for the provider the settings point at.

The generic fix for each code is in the catalogue (``diagnosis.<CODE>.hint``).
When the settings name a known provider (:func:`bpmnb.presets.by_host`, else
the sender's domain via :func:`bpmnb.presets.by_domain`), the provider's own
habit goes first: WP wants program access switched on, Onet wants the whole
address as login, Gmail wants an app password, Office 365 must have
authenticated SMTP enabled. A port the cloud does not open gets the request
text for opening it.
"""

from __future__ import annotations

from typing import Protocol

from bpmnb import presets
from bpmnb.errors import BpmnbError, Code, Stage
from bpmnb.i18n import Lang, default_lang, text
from bpmnb.settings import AccountSettings


class _HasCode(Protocol):
    @property
    def code(self) -> Code: ...


# Faults that may mean "the cloud does not let this port out": the TCP
# connection itself failed. A server that accepted it and then kept silent
# (NO_GREETING) is past any firewall.
_PORT_CODES = frozenset({Code.CONNECT_TIMEOUT, Code.CONNECT_REFUSED})
_LOGIN_CODES = frozenset(
    {Code.AUTH_FAILED, Code.AUTH_DISABLED, Code.AUTH_UNAVAILABLE, Code.AUTH_REQUIRED}
)


def provider_of(settings: AccountSettings | None) -> presets.Preset | None:
    """The known provider of ``settings``: by server name, else sender domain."""
    if settings is None:
        return None
    if settings.host:
        found = presets.by_host(settings.host)
        if found is not None:
            return found
    domain = settings.sender.rpartition("@")[2]
    return presets.by_domain(domain) if domain else None


def _code_of(error_or_code: BpmnbError | Code | str | _HasCode) -> Code:
    if isinstance(error_or_code, Code):
        return error_or_code
    if isinstance(error_or_code, str):
        return Code(error_or_code)
    return error_or_code.code


def provider_hints(
    code: Code,
    settings: AccountSettings | None,
    lang: Lang,
    stage: Stage | None = None,
) -> list[str]:
    """Provider-specific advice for ``code`` (may be empty); ``stage`` is
    where it happened, when known."""
    out: list[str] = []
    preset = provider_of(settings)
    key = preset.key if preset is not None else None
    if key == "wp" and code in _LOGIN_CODES | {Code.CONNECTION_DROPPED}:
        out.append(text("diagnosis.provider.wp_access", lang))
    if key == "onet" and code in _LOGIN_CODES:
        out.append(text("diagnosis.provider.onet_login", lang))
    if key == "gmail" and code in (Code.APP_PASSWORD_REQUIRED, Code.AUTH_FAILED):
        out.append(text("diagnosis.provider.gmail_app_password", lang))
    if key == "office365":
        if code is Code.AUTH_DISABLED:
            out.append(text("diagnosis.provider.office365_smtp_auth", lang))
        if code is Code.SENDER_REJECTED:
            out.append(text("diagnosis.provider.office365_send_as", lang))
    # A server that answered (a 5xx greeting or EHLO refusal) is reachable:
    # opening the port would not help.
    answered = code is Code.CONNECT_REFUSED and stage in (Stage.GREETING, Stage.EHLO)
    if (
        settings is not None
        and code in _PORT_CODES
        and not answered
        and settings.port not in presets.CLOUD_OPEN_PORTS
        and not _local(settings.host)
    ):
        out.append(port_request(settings, lang))
    return out


def _local(host: str) -> bool:
    """This machine: the cloud's firewall has nothing to do with it."""
    from bpmnb import rules

    return rules.is_loopback(host)


def port_request(settings: AccountSettings, lang: Lang) -> str:
    """Why the port may be shut in the cloud, and the request to open it.

    The request text itself is the rules' (:func:`bpmnb.rules.port_request`),
    so the form, the notebooks and the diagnosis show the same email.
    """
    from bpmnb import rules

    sentence = text(
        "diagnosis.provider.port_request",
        lang,
        port=settings.port,
        host=settings.host,
    )
    made = getattr(rules, "port_request", None)
    if made is None:
        return sentence
    try:
        request = made(settings, lang)
    except NotImplementedError:
        return sentence
    return f"{sentence}\n\n{request}" if isinstance(request, str) else sentence


def hint_for(
    error_or_code: BpmnbError | Code | str | _HasCode,
    settings: AccountSettings | None = None,
    lang: Lang | None = None,
) -> str:
    """The fix for a fault: provider advice first, then the generic hint.

    Accepts a :class:`BpmnbError`, a :class:`Code` (or its name), or anything
    with a ``code`` (a :class:`bpmnb.diagnosis.CheckReport`). Lines are
    separated by newlines.
    """
    lang = lang or default_lang()
    code = _code_of(error_or_code)
    parts: list[str] = []
    if isinstance(error_or_code, BpmnbError) and settings is not None:
        # Exchange Online's enhanced codes (5.7.139, 5.7.60, ...) and OAuth
        # failures carry their own, more exact advice with the admin commands.
        from bpmnb.oauth import office365_hint

        exact = office365_hint(error_or_code, settings, lang)
        if exact:
            parts.append(exact)
    if not parts:
        stage = getattr(error_or_code, "stage", None)
        stage = stage if isinstance(stage, Stage) else None
        parts.extend(provider_hints(code, settings, lang, stage))
    parts.append(text(f"diagnosis.{code}.hint", lang))
    return "\n".join(parts)
