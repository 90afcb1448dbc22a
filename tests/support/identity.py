"""A local HTTPS endpoint that speaks Entra ID's OAuth 2.0 protocol for msal.

It serves what msal needs from login.microsoftonline.com, on 127.0.0.1 with
a trustme certificate:

* ``/<tenant>/v2.0/.well-known/openid-configuration`` (OIDC discovery),
* ``/<tenant>/oauth2/v2.0/token`` for ``client_credentials`` (client secret,
  or a certificate-signed client assertion, RFC 7523, which is verified),
  the device-code grant (RFC 8628) and ``refresh_token``,
* ``/<tenant>/oauth2/v2.0/devicecode``.

Access tokens are RS256 JWTs with the claims Entra ID puts in Exchange
Online tokens (``aud``, ``tid``, ``appid``, ``oid``, ``roles`` or ``scp``,
``upn``). Knobs on the instance produce the faults the preflight must name:
another audience, missing roles, expiry, another tenant. Errors are answered
the way Entra ID answers them (``error`` plus an AADSTS code in
``error_description``).
"""

from __future__ import annotations

import base64
import json
import secrets
import ssl
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.support.net import LOOPBACK, Running, ca, ca_file, free_port, server_context

EXCHANGE_RESOURCE = "https://outlook.office365.com"
DELEGATED_RESOURCE = "https://outlook.office.com"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


@dataclass
class App:
    """One app registration (and its service principal in the tenant)."""

    client_id: str
    secret: str | None = None
    certificate: x509.Certificate | None = None
    public_client: bool = False
    roles: list[str] = field(default_factory=lambda: ["SMTP.SendAsApp"])
    scopes: list[str] = field(default_factory=lambda: ["SMTP.Send"])
    object_id: str = field(default_factory=lambda: str(uuid.uuid4()))


@dataclass
class User:
    upn: str
    object_id: str = field(default_factory=lambda: str(uuid.uuid4()))


@dataclass
class _Device:
    client_id: str
    scope: str
    expires_at: float
    user: str | None = None
    declined: bool = False
    used: bool = False


def make_certificate(directory: Path, name: str = "app") -> tuple[Path, str]:
    """A self-signed app certificate as one PEM (key + cert), the way it is
    uploaded to an app registration; returns the path and SHA-1 thumbprint."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, f"bpmnb-{name}")])
    now = time.time()
    import datetime as dt

    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(dt.datetime.fromtimestamp(now - 60, dt.UTC))
        .not_valid_after(dt.datetime.fromtimestamp(now + 86400, dt.UTC))
        .sign(key, hashes.SHA256())
    )
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ) + cert.public_bytes(serialization.Encoding.PEM)
    path = directory / f"{name}.pem"
    path.write_bytes(pem)
    path.chmod(0o600)
    return path, cert.fingerprint(hashes.SHA1()).hex().upper()  # noqa: S303


class IdentityEmulator(Running):
    """Entra ID for one tenant on ``https://127.0.0.1:<port>``.

    ``authority_host`` goes into ``settings.oauth.authority_host``; the CA
    that signed its certificate is tests.support.net's ``ca()`` (write it with
    :meth:`ca_file`).
    """

    def __init__(
        self,
        tenant_id: str | None = None,
        *,
        domain: str = "contoso.onmicrosoft.com",
        lifetime: int = 3600,
    ) -> None:
        self.tenant_id = tenant_id or str(uuid.uuid4())
        self.domain = domain
        self.lifetime = lifetime
        self.apps: dict[str, App] = {}
        self.users: dict[str, User] = {}
        # Fault knobs (None: behave like Entra ID).
        self.audience: str | None = None
        self.token_tenant: str | None = None
        self.skew = 0  # seconds added to iat/nbf/exp: a server clock elsewhere
        self.auto_approve: str | None = None  # upn that approves device codes
        # (status, content type, body) answered by the token endpoint instead
        # of a token: an Entra ID error, a proxy's HTML page, a 500.
        self.token_reply: tuple[int, str, str] | None = None
        self.delay = 0.0  # seconds the token endpoint waits before answering
        self.device_lifetime = 900  # expires_in of new device codes
        self.requests: list[dict[str, str]] = []  # grant + client, no secrets
        self.issued: list[dict[str, Any]] = []  # claims of issued access tokens
        self._devices: dict[str, _Device] = {}
        self._refresh: dict[str, tuple[str, str, str]] = {}  # rt -> client,upn,scope
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._kid = secrets.token_hex(8)
        self._lock = threading.Lock()
        self.port = free_port()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- set-up ---------------------------------------------------------------

    @property
    def authority_host(self) -> str:
        return f"https://{LOOPBACK}:{self.port}"

    def ca_file(self, directory: Path) -> Path:
        return ca_file(directory)

    def register_app(self, **kwargs: Any) -> App:
        app = App(client_id=kwargs.pop("client_id", str(uuid.uuid4())), **kwargs)
        self.apps[app.client_id] = app
        return app

    def add_user(self, upn: str) -> User:
        user = User(upn)
        self.users[upn.lower()] = user
        return user

    def approve(self, user_code: str, upn: str) -> None:
        """The user entered ``user_code`` at the verification page and agreed."""
        with self._lock:
            self._devices[user_code].user = upn

    def decline(self, user_code: str) -> None:
        with self._lock:
            self._devices[user_code].declined = True

    def revoke_refresh_tokens(self) -> None:
        """What "Revoke sessions" on the user does in Entra ID."""
        with self._lock:
            self._refresh.clear()

    def grants(self) -> list[str]:
        return [r["grant_type"] for r in self.requests]

    def start(self) -> IdentityEmulator:
        emulator = self
        context = server_context()

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def finish_request(self, request: Any, client_address: Any) -> None:
                try:
                    request = context.wrap_socket(request, server_side=True)
                except (ssl.SSLError, OSError):
                    return
                super().finish_request(request, client_address)

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                emulator._get(self)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length).decode()
                form = {k: v[0] for k, v in parse_qs(body).items()}
                emulator._post(self, form)

        self._server = Server((LOOPBACK, self.port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    # --- tokens ---------------------------------------------------------------

    def mint(self, claims: dict[str, Any]) -> str:
        """Sign ``claims`` as an access token (tests also use it directly)."""
        return jwt.encode(
            claims, self._key, algorithm="RS256", headers={"kid": self._kid}
        )

    def _claims(
        self, app: App, resource: str, now: float | None, **own: Any
    ) -> dict[str, Any]:
        """The claims every Entra ID access token has, around ``own``."""
        moment = int((time.time() if now is None else now) + self.skew)
        tenant = self.token_tenant or self.tenant_id
        return {
            "aud": self.audience or resource,
            "iss": f"https://sts.windows.net/{tenant}/",
            "iat": moment,
            "nbf": moment,
            "exp": moment + self.lifetime,
            "tid": tenant,
            "appid": app.client_id,
            **own,
            "ver": "1.0",
            "jti": secrets.token_hex(8),
        }

    def app_claims(self, app: App, *, now: float | None = None) -> dict[str, Any]:
        return self._claims(
            app,
            EXCHANGE_RESOURCE,
            now,
            appidacr="2" if app.certificate else "1",
            idtyp="app",
            oid=app.object_id,
            sub=app.object_id,
            roles=list(app.roles),
        )

    def user_claims(
        self, app: App, user: User, *, now: float | None = None
    ) -> dict[str, Any]:
        return self._claims(
            app,
            DELEGATED_RESOURCE,
            now,
            oid=user.object_id,
            sub=user.object_id,
            upn=user.upn,
            unique_name=user.upn,
            scp=" ".join(app.scopes),
        )

    def _access(self, claims: dict[str, Any], scope: str) -> dict[str, Any]:
        with self._lock:
            self.issued.append(claims)
        return {
            "token_type": "Bearer",
            "scope": scope,
            "expires_in": self.lifetime,
            "ext_expires_in": self.lifetime,
            "access_token": self.mint(claims),
        }

    def _user_tokens(self, app: App, user: User, scope: str) -> dict[str, Any]:
        wanted = [
            s for s in scope.split() if s not in ("openid", "profile", "offline_access")
        ]
        result = self._access(self.user_claims(app, user), " ".join(wanted))
        refresh = secrets.token_urlsafe(32)
        with self._lock:
            self._refresh[refresh] = (app.client_id, user.upn, scope)
        now = int(time.time())
        id_token = jwt.encode(
            {
                "aud": app.client_id,
                "iss": f"{self.authority_host}/{self.tenant_id}/v2.0",
                "iat": now,
                "nbf": now,
                "exp": now + 3600,
                "tid": self.tenant_id,
                "oid": user.object_id,
                "sub": user.object_id,
                "preferred_username": user.upn,
                "name": user.upn,
                "ver": "2.0",
            },
            self._key,
            algorithm="RS256",
            headers={"kid": self._kid},
        )
        info = {"uid": user.object_id, "utid": self.tenant_id}
        result.update(
            refresh_token=refresh,
            id_token=id_token,
            client_info=base64.urlsafe_b64encode(json.dumps(info).encode())
            .decode()
            .rstrip("="),
        )
        return result

    # --- HTTP -----------------------------------------------------------------

    def _tenant_ok(self, tenant: str) -> bool:
        return tenant.lower() in (self.tenant_id.lower(), self.domain.lower())

    def _get(self, http: BaseHTTPRequestHandler) -> None:
        path = urlparse(http.path).path.strip("/").split("/")
        if path[1:] == ["v2.0", ".well-known", "openid-configuration"]:
            if not self._tenant_ok(path[0]):
                self._reply(
                    http,
                    400,
                    {
                        "error": "invalid_tenant",
                        "error_description": f"AADSTS90002: Tenant '{path[0]}' "
                        "not found.",
                    },
                )
                return
            base = f"{self.authority_host}/{path[0]}"
            self._reply(
                http,
                200,
                {
                    "issuer": f"{self.authority_host}/{self.tenant_id}/v2.0",
                    "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                    "token_endpoint": f"{base}/oauth2/v2.0/token",
                    "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
                    "jwks_uri": f"{base}/discovery/v2.0/keys",
                    "response_types_supported": ["code", "id_token", "token"],
                    "subject_types_supported": ["pairwise"],
                    "id_token_signing_alg_values_supported": ["RS256"],
                    "tenant_region_scope": "EU",
                },
            )
            return
        self._reply(http, 404, {"error": "not_found"})

    def _post(self, http: BaseHTTPRequestHandler, form: dict[str, str]) -> None:
        path = urlparse(http.path).path.strip("/").split("/")
        if len(path) != 4 or not self._tenant_ok(path[0]):
            self._reply(http, 404, {"error": "not_found"})
            return
        endpoint = f"{self.authority_host}/{path[0]}/oauth2/v2.0/token"
        status, body = 400, {"error": "invalid_request"}
        if path[3] == "devicecode":
            status, body = self._devicecode(form)
        elif path[3] == "token":
            grant = form.get("grant_type", "")
            with self._lock:
                self.requests.append(
                    {"grant_type": grant, "client_id": form.get("client_id", "")}
                )
            if self.delay:
                time.sleep(self.delay)
            if self.token_reply is not None:
                self._raw(http, *self.token_reply)
                return
            if grant == "client_credentials":
                status, body = self._client_credentials(form, endpoint)
            elif grant == DEVICE_GRANT:
                status, body = self._device_grant(form)
            elif grant == "refresh_token":
                status, body = self._refresh_grant(form)
            else:
                status, body = 400, _error("unsupported_grant_type", "AADSTS70003")
        self._reply(http, status, body)

    def _app(self, form: dict[str, str]) -> App | None:
        return self.apps.get(form.get("client_id", ""))

    def _client_credentials(
        self, form: dict[str, str], endpoint: str
    ) -> tuple[int, dict[str, Any]]:
        app = self._app(form)
        if app is None:
            return 400, _error(
                "unauthorized_client",
                "AADSTS700016",
                f"Application with identifier '{form.get('client_id')}' was not "
                "found in the directory.",
            )
        if "client_secret" in form:
            if app.secret is None or not secrets.compare_digest(
                form["client_secret"], app.secret
            ):
                return 401, _error(
                    "invalid_client", "AADSTS7000215", "Invalid client secret provided."
                )
        elif form.get("client_assertion_type") == ASSERTION_TYPE:
            problem = self._check_assertion(
                app, form.get("client_assertion", ""), endpoint
            )
            if problem:
                return 401, _error("invalid_client", "AADSTS700027", problem)
        else:
            return 401, _error(
                "invalid_client",
                "AADSTS7000218",
                "The request body must contain 'client_assertion' or 'client_secret'.",
            )
        scope = form.get("scope", "")
        if not scope.endswith("/.default"):
            return 400, _error(
                "invalid_scope", "AADSTS1002012", "Scope must end in .default."
            )
        return 200, self._access(self.app_claims(app), scope)

    def _check_assertion(self, app: App, assertion: str, endpoint: str) -> str | None:
        """RFC 7523 section 3: signed by the registered certificate's key, for
        this token endpoint, issued by and about the client."""
        if app.certificate is None:
            return "No certificate is registered for the application."
        try:
            header = jwt.get_unverified_header(assertion)
        except jwt.PyJWTError:
            return "Client assertion is not a JWT."
        sha1 = _b64(app.certificate.fingerprint(hashes.SHA1()))  # noqa: S303
        sha256 = _b64(app.certificate.fingerprint(hashes.SHA256()))
        # msal keeps base64 padding on x5t; RFC 7515 drops it: accept both.
        x5t = str(header.get("x5t", "")).rstrip("=")
        x5t256 = str(header.get("x5t#S256", "")).rstrip("=")
        if x5t != sha1 and x5t256 != sha256:
            return "Client assertion contains an unknown certificate thumbprint."
        try:
            claims = jwt.decode(
                assertion,
                app.certificate.public_key(),  # type: ignore[arg-type]
                algorithms=["RS256", "PS256"],
                audience=endpoint,
            )
        except jwt.PyJWTError as exc:
            return (
                f"Client assertion failed signature validation ({type(exc).__name__})."
            )
        if claims.get("iss") != app.client_id or claims.get("sub") != app.client_id:
            return "Client assertion issuer or subject is not the client."
        return None

    def _devicecode(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        app = self._app(form)
        if app is None or not app.public_client:
            return 400, _error(
                "unauthorized_client",
                "AADSTS7000218",
                "The request body must contain 'client_assertion' or "
                "'client_secret' (public client flows are not allowed).",
            )
        user_code = secrets.token_hex(4).upper()
        device_code = secrets.token_urlsafe(24)
        lifetime = self.device_lifetime
        device = _Device(app.client_id, form.get("scope", ""), time.time() + lifetime)
        if self.auto_approve:
            device.user = self.auto_approve
        with self._lock:
            self._devices[user_code] = device
            self._devices[device_code] = device
        url = f"{self.authority_host}/devicelogin"
        return 200, {
            "user_code": user_code,
            "device_code": device_code,
            "verification_uri": url,
            "expires_in": lifetime,
            "interval": 1,
            "message": f"To sign in, open {url} and enter the code {user_code}.",
        }

    def _device_grant(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            device = self._devices.get(form.get("device_code", ""))
        if device is None or device.used:
            return 400, _error("invalid_grant", "AADSTS70000", "Invalid device code.")
        if device.expires_at < time.time():
            return 400, _error(
                "expired_token", "AADSTS70020", "The device code expired."
            )
        if device.declined:
            return 400, _error("authorization_declined", "AADSTS70016", "Declined.")
        if device.user is None:
            return 400, _error("authorization_pending", "AADSTS70016", "Pending.")
        device.used = True
        app = self.apps[device.client_id]
        user = self.users.get(device.user.lower()) or self.add_user(device.user)
        return 200, self._user_tokens(app, user, device.scope)

    def _refresh_grant(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            entry = self._refresh.pop(form.get("refresh_token", ""), None)
        if entry is None or entry[0] != form.get("client_id"):
            return 400, _error(
                "invalid_grant",
                "AADSTS70008",
                "The provided authorization code or refresh token has expired.",
            )
        app = self.apps[entry[0]]
        user = self.users[entry[1].lower()]
        return 200, self._user_tokens(app, user, form.get("scope") or entry[2])

    @staticmethod
    def _raw(http: BaseHTTPRequestHandler, status: int, kind: str, body: str) -> None:
        data = body.encode()
        http.send_response(status)
        http.send_header("Content-Type", kind)
        http.send_header("Content-Length", str(len(data)))
        http.end_headers()
        try:
            http.wfile.write(data)
        except OSError:  # the client gave up waiting (a timeout test)
            pass

    @staticmethod
    def _reply(http: BaseHTTPRequestHandler, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        http.send_response(status)
        http.send_header("Content-Type", "application/json; charset=utf-8")
        http.send_header("Content-Length", str(len(data)))
        http.end_headers()
        http.wfile.write(data)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def entra_error(error: str, code: str, text: str = "") -> str:
    """An Entra ID error body (for ``token_reply``), as JSON text."""
    return json.dumps(_error(error, code, text))


def _error(error: str, code: str, text: str = "") -> dict[str, Any]:
    trace = str(uuid.uuid4())
    return {
        "error": error,
        "error_description": f"{code}: {text} Trace ID: {trace}",
        "error_codes": [int(code.removeprefix("AADSTS"))],
        "trace_id": trace,
    }


def token_checker(emulator: IdentityEmulator, *, now: Any = time.time) -> Any:
    """What Exchange Online checks in a bearer token, for the SMTP emulators:
    our signature, an Exchange audience, not expired, our tenant, and either
    the SMTP.SendAsApp role or the SMTP.Send scope for the XOAUTH2 user.
    Returns ``check(user, token) -> None | reason``."""
    public = emulator._key.public_key()
    audiences = {
        EXCHANGE_RESOURCE,
        DELEGATED_RESOURCE,
        "00000002-0000-0ff1-ce00-000000000000",
    }

    def check(user: str, token: str) -> str | None:
        try:
            claims = jwt.decode(
                token,
                public,
                algorithms=["RS256"],
                options={"verify_exp": False, "verify_aud": False, "verify_nbf": False},
            )
        except jwt.PyJWTError:
            return "bad signature"
        if str(claims.get("aud", "")).rstrip("/") not in audiences:
            return "wrong audience"
        if float(claims.get("exp", 0)) <= now():
            return "expired"
        if claims.get("tid") != emulator.tenant_id:
            return "other tenant"
        if "scp" in claims:
            if "SMTP.Send" not in str(claims["scp"]).split():
                return "scope missing"
            if str(claims.get("upn", "")).lower() != user.lower():
                return "user mismatch"
        elif "SMTP.SendAsApp" not in claims.get("roles", []):
            return "role missing"
        return None

    return check


def ca_pem() -> bytes:
    """The PEM of the CA behind the emulator's certificate."""
    return bytes(ca().cert_pem.bytes())


__all__ = [
    "App",
    "IdentityEmulator",
    "User",
    "ca_pem",
    "entra_error",
    "make_certificate",
    "token_checker",
]


def office365_settings(
    emulator: IdentityEmulator,
    app: App,
    ca_file_path: Path,
    *,
    login: str = "powiadomienia@contoso.onmicrosoft.com",
    host: str = "smtp.office365.com",
    port: int = 587,
    flow: str = "client_secret",
    **oauth: Any,
) -> Any:
    """Account settings for an Office 365 account whose sign-in service is
    ``emulator`` (SMTP ``host``/``port`` default to Office 365's own)."""
    from bpmnb.settings import AccountSettings

    return AccountSettings.model_validate(
        {
            "enabled": True,
            "account_name": "Office 365",
            "sender": login,
            "host": host,
            "port": port,
            "encryption": "starttls",
            "auth": "oauth2_office365",
            "login": login,
            "timeout": 5.0,
            "ca_file": str(ca_file_path),
            "oauth": {
                "tenant_id": emulator.tenant_id,
                "client_id": app.client_id,
                "flow": flow,
                "authority_host": emulator.authority_host,
                **oauth,
            },
        }
    )


def office365_on_sandbox(
    box: Any,
    emulator: IdentityEmulator,
    app: App,
    directory: Path,
    login: str,
    flow: str = "client_secret",
) -> Any:
    """:func:`office365_settings` delivering to the sandbox ``box``, with a
    CA file (``directory/bundle.pem``) that trusts both it and ``emulator``."""
    bundle = directory / "bundle.pem"
    bundle.write_bytes(
        box.ca_file.read_bytes() + emulator.ca_file(directory).read_bytes()
    )
    return office365_settings(
        emulator,
        app,
        bundle,
        login=login,
        host=box.host,
        port=box.starttls_port,
        flow=flow,
    )


def validator(emulator: IdentityEmulator) -> Any:
    """``Sandbox(token_validator=...)``: ``(login, token) -> accepted?``."""
    check = token_checker(emulator)
    return lambda login, token: check(login, token) is None


DEMO_TENANT = "2b6f3c1e-8a4d-4f0b-9c7e-5d1a2f3b4c5d"
DEMO_CLIENT = "7e4a9b2c-1d3f-4e5a-8b6c-0f9e8d7c6b5a"
DEMO_OBJECT = "c0ffee00-1234-4abc-9def-0123456789ab"
DEMO_MAILBOX = "powiadomienia@contoso.onmicrosoft.com"


@dataclass
class Demo:
    """An emulated Office 365 for notebooks: Entra ID plus the sandbox
    accepting XOAUTH2, and settings and a secret store pointing at them."""

    home: Any
    settings: Any
    identity: IdentityEmulator
    sandbox: Any
    temporary: bool = False

    def stop(self) -> None:
        """Stop both servers; a home made in a temporary directory (it holds
        the demo's secret store) is removed."""
        import shutil

        self.sandbox.stop()
        self.identity.stop()
        if self.temporary:
            shutil.rmtree(self.home.root, ignore_errors=True)


def start_demo(root: Path | None = None) -> Demo:
    """Start the emulated tenant (fixed IDs, so outputs are stable) and a
    sandbox in a fresh home under ``root`` (a temporary directory if None).
    The client secret is generated and goes only to that home's store."""
    import tempfile

    from bpmnb.home import Home
    from bpmnb.sandbox import Sandbox
    from bpmnb.secrets import open_store

    home = Home(Path(root or tempfile.mkdtemp(prefix="bpmnb-o365-"))).ensure()
    identity = IdentityEmulator(DEMO_TENANT).start()
    secret = secrets.token_urlsafe(24)
    app = identity.register_app(
        client_id=DEMO_CLIENT, secret=secret, object_id=DEMO_OBJECT
    )
    box = Sandbox(home, token_validator=validator(identity)).start()
    bundle = home.root / "ca-bundle.pem"
    bundle.write_bytes(box.ca_file.read_bytes() + ca_pem())
    settings = office365_settings(
        identity,
        app,
        bundle,
        login=DEMO_MAILBOX,
        host=box.host,
        port=box.starttls_port,
    )
    settings.display_name = "Comarch DMS — powiadomienia"
    open_store(home).set("oauth_client_secret", secret)
    return Demo(home, settings, identity, box, temporary=root is None)
