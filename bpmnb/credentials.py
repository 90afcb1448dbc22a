"""Turning settings plus the secret store into a :class:`Credential`.

The password comes from, in order: the in-memory settings (just typed),
``BPMNB_PASSWORD`` (automation), the secret store. OAuth2 tokens come from
:mod:`bpmnb.oauth`, fetched only when AUTH runs.
"""

from __future__ import annotations

import os

from bpmnb import storage
from bpmnb.home import Home
from bpmnb.secrets import SecretStore, open_store
from bpmnb.settings import AccountSettings, AuthMethod
from bpmnb.transport import Credential


def for_settings(
    settings: AccountSettings, home: Home, store: SecretStore | None = None
) -> Credential | None:
    """The credential for ``settings``, or None when there is nothing to log in
    with (no login, or no password anywhere)."""
    if not settings.login:
        return None
    if settings.auth is AuthMethod.OAUTH2_OFFICE365:
        from bpmnb import oauth

        provider = oauth.token_provider(settings, store or open_store(home))
        return Credential(settings.login, "xoauth2", provider)

    password: str | None
    if settings.password is not None and settings.password.get_secret_value():
        password = settings.password.get_secret_value()
    else:
        # Only a password saved for this server and login (see
        # storage.stored_password): never one typed for another account.
        password = os.environ.get("BPMNB_PASSWORD") or storage.stored_password(
            home, store, account=settings
        )
    if not password:
        return None
    secret = password
    return Credential(settings.login, "password", lambda: secret)
