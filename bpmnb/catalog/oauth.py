"""User-facing text of the oauth area (keys start with ``oauth.``)."""

from bpmnb.i18n import Msg

_SETTINGS: dict[str, Msg] = {
    "oauth.google_refused": Msg(
        "Serwer {host} należy do Google, a logowanie tokenem OAuth2 działa tu "
        "tylko z Microsoft Office 365. Dla Gmaila wybierz login i hasło "
        "aplikacji.",
        "{host} is a Google server, and token sign-in (OAuth2) works here only "
        "with Microsoft Office 365. For Gmail choose login and app password.",
    ),
    "oauth.not_oauth": Msg(
        "Token Office 365 jest potrzebny tylko przy metodzie uwierzytelniania "
        "OAuth2 Office 365.",
        "An Office 365 token is only needed with the OAuth2 Office 365 "
        "authentication method.",
    ),
    "oauth.tenant_missing": Msg(
        "Podaj identyfikator dzierżawy (Directory / tenant ID) z przeglądu "
        "rejestracji aplikacji w Entra ID.",
        "Enter the directory (tenant) ID shown on the app registration's "
        "overview page in Entra ID.",
    ),
    "oauth.client_missing": Msg(
        "Podaj identyfikator aplikacji (Application / client ID) z rejestracji "
        "w Entra ID.",
        "Enter the application (client) ID of the Entra ID app registration.",
    ),
    "oauth.client_not_guid": Msg(
        "Identyfikator aplikacji ma postać GUID, np. "
        "11111111-2222-3333-4444-555555555555.",
        "The application (client) ID is a GUID, such as "
        "11111111-2222-3333-4444-555555555555.",
    ),
    "oauth.tenant_not_specific": Msg(
        "„{tenant}” nie wskazuje jednej dzierżawy, a logowanie aplikacji "
        "(client credentials) jej wymaga. Podaj identyfikator dzierżawy "
        "(Directory / tenant ID, GUID) albo domenę, np. "
        "contoso.onmicrosoft.com.",
        '"{tenant}" does not name one tenant, and app sign-in (client '
        "credentials) needs one. Enter the directory (tenant) ID (a GUID) or "
        "a domain such as contoso.onmicrosoft.com.",
    ),
    "oauth.tenant_malformed": Msg(
        "Identyfikator dzierżawy to GUID (Directory / tenant ID) albo domena, "
        "np. contoso.onmicrosoft.com — bez adresu URL i spacji.",
        "The tenant is a GUID (directory / tenant ID) or a domain such as "
        "contoso.onmicrosoft.com — no URL and no spaces.",
    ),
    "oauth.cert_missing": Msg(
        "Przy logowaniu certyfikatem wskaż plik PEM z kluczem prywatnym i "
        "certyfikatem.",
        "Certificate sign-in needs the path of a PEM file holding the private "
        "key and the certificate.",
    ),
    "oauth.authority_not_https": Msg(
        "Adres usługi logowania Microsoft musi zaczynać się od https://.",
        "The Microsoft sign-in service address must start with https://.",
    ),
}

_TOKENS: dict[str, Msg] = {
    "oauth.secret_is_id": Msg(
        "Zapisany klucz tajny wygląda jak identyfikator klucza (Secret ID, "
        "GUID), a nie jego wartość; Entra ID go odrzuca.",
        "The stored client secret looks like the secret's ID (a GUID), not "
        "its value; Entra ID refuses it.",
    ),
    "oauth.secret_is_id.hint": Msg(
        "W Entra ID > Rejestracje aplikacji > Certyfikaty i klucze tajne "
        "skopiuj kolumnę „Wartość” (Value), nie „Identyfikator klucza "
        "tajnego”. Wartość widać tylko tuż po utworzeniu — w razie potrzeby "
        "utwórz nowy klucz i zapisz go: bpmnb oauth login --client-secret.",
        "In Entra ID > App registrations > Certificates & secrets copy the "
        '"Value" column, not "Secret ID". The value is shown only right '
        "after creation — if needed create a new secret and store it with: "
        "bpmnb oauth login --client-secret.",
    ),
    "oauth.login_interrupted": Msg(
        "Logowanie przerwane; nic nie zapisano.",
        "Sign-in interrupted; nothing was stored.",
    ),
    "oauth.secret_missing": Msg(
        "Brak klucza tajnego aplikacji (client secret) w magazynie sekretów.",
        "No application client secret is kept in the secret store.",
    ),
    "oauth.secret_missing.hint": Msg(
        "Zapisz go poleceniem: bpmnb oauth login --client-secret (wartość "
        "wpisuje się niewidocznie).",
        "Store it with: bpmnb oauth login --client-secret (the value is typed "
        "without echo).",
    ),
    "oauth.cert_unreadable": Msg(
        "Nie udało się odczytać klucza prywatnego i certyfikatu z pliku {path}.",
        "The private key and certificate could not be read from {path}.",
    ),
    "oauth.cert_unreadable.hint": Msg(
        "Plik musi być w formacie PEM, zawierać niezaszyfrowany klucz prywatny "
        "oraz certyfikat i być czytelny dla tego konta systemowego. Plik PFX "
        "przekształcisz poleceniem: openssl pkcs12 -in plik.pfx -out plik.pem "
        "-nodes",
        "The file must be PEM, hold an unencrypted private key and the "
        "certificate, and be readable by this system account. Convert a PFX "
        "file with: openssl pkcs12 -in file.pfx -out file.pem -nodes",
    ),
    "oauth.thumbprint_mismatch": Msg(
        "Odcisk certyfikatu w pliku ({actual}) różni się od podanego w "
        "ustawieniach ({wanted}).",
        "The certificate in the file has thumbprint {actual}, but the settings "
        "say {wanted}.",
    ),
    "oauth.thumbprint_mismatch.hint": Msg(
        "Wskaż plik z certyfikatem przesłanym do rejestracji aplikacji albo "
        "popraw odcisk (Certificates & secrets w Entra ID).",
        "Point to the certificate uploaded to the app registration, or correct "
        "the thumbprint (Certificates & secrets in Entra ID).",
    ),
    "oauth.login_required": Msg(
        "Brak zapisanego logowania do skrzynki użytkownika albo wygasło.",
        "There is no stored sign-in for the user mailbox, or it has lapsed.",
    ),
    "oauth.login_required.hint": Msg(
        "Uruchom raz: bpmnb oauth login i zaloguj się w przeglądarce kodem, "
        "który pokaże. Wysyłka nigdy nie loguje sama.",
        "Run once: bpmnb oauth login, and sign in in a browser with the code it "
        "shows. Sending never signs in by itself.",
    ),
    "oauth.login_other_user": Msg(
        "Zalogowano jako {signed_in}, a ustawienia wysyłają jako {login}.",
        "Signed in as {signed_in}, but the settings send as {login}.",
    ),
    "oauth.login_other_user.hint": Msg(
        "Wyloguj (bpmnb oauth logout) i zaloguj się ponownie właściwym kontem "
        "albo popraw pole Login.",
        "Sign out (bpmnb oauth logout) and sign in again with the right "
        "account, or correct the Login field.",
    ),
    "oauth.invalid_client": Msg(
        "Entra ID odrzuciło poświadczenie aplikacji ({error}).",
        "Entra ID refused the application's credential ({error}).",
    ),
    "oauth.invalid_client.hint": Msg(
        "Sprawdź, czy zapisano wartość klucza tajnego (Value), a nie jego "
        "identyfikator (Secret ID), albo czy certyfikat jest przesłany do tej "
        "rejestracji.",
        "Check that the secret's Value was stored, not its Secret ID, or that "
        "the certificate is uploaded to this registration.",
    ),
    "oauth.secret_expired": Msg(
        "Klucz tajny aplikacji wygasł ({error}).",
        "The application's client secret has expired ({error}).",
    ),
    "oauth.secret_expired.hint": Msg(
        "Utwórz nowy w Certificates & secrets i zapisz go: bpmnb oauth login "
        "--client-secret",
        "Create a new one under Certificates & secrets and store it: bpmnb "
        "oauth login --client-secret",
    ),
    "oauth.unknown_app": Msg(
        "W tej dzierżawie nie ma aplikacji o podanym identyfikatorze albo nie "
        "może ona użyć tej metody logowania ({error}).",
        "This tenant has no application with that ID, or it may not use this "
        "sign-in method ({error}).",
    ),
    "oauth.unknown_app.hint": Msg(
        "Porównaj Application (client) ID i Directory (tenant) ID z przeglądem "
        "rejestracji. Dla logowania kodem włącz Allow public client flows.",
        "Compare the application (client) ID and directory (tenant) ID with the "
        "registration overview. For code sign-in turn on Allow public client "
        "flows.",
    ),
    "oauth.unknown_tenant": Msg(
        "Usługa logowania Microsoft nie zna podanej dzierżawy.",
        "The Microsoft sign-in service does not know the given tenant.",
    ),
    "oauth.unknown_tenant.hint": Msg(
        "Wpisz Directory (tenant) ID albo domenę .onmicrosoft.com organizacji.",
        "Enter the directory (tenant) ID or the organisation's .onmicrosoft.com "
        "domain.",
    ),
    "oauth.no_consent": Msg(
        "Administrator nie udzielił zgody na uprawnienia aplikacji ({error}).",
        "An administrator has not consented to the app's permissions ({error}).",
    ),
    "oauth.no_consent.hint": Msg(
        "W API permissions kliknij Grant admin consent dla organizacji.",
        "In API permissions click Grant admin consent for the organisation.",
    ),
    "oauth.invalid_scope": Msg(
        "Entra ID nie przyznało żądanego zakresu uprawnień ({error}).",
        "Entra ID did not grant the requested scope ({error}).",
    ),
    "oauth.invalid_scope.hint": Msg(
        "Dodaj uprawnienie Office 365 Exchange Online: SMTP.SendAsApp (dla "
        "aplikacji) albo SMTP.Send (dla użytkownika) i udziel zgody.",
        "Add the Office 365 Exchange Online permission SMTP.SendAsApp (for the "
        "app) or SMTP.Send (for a user) and grant consent.",
    ),
    "oauth.device_declined": Msg(
        "Logowanie kodem zostało odrzucone w przeglądarce.",
        "The code sign-in was declined in the browser.",
    ),
    "oauth.device_declined.hint": Msg(
        "Uruchom bpmnb oauth login ponownie i zaakceptuj żądanie uprawnień.",
        "Run bpmnb oauth login again and accept the permission request.",
    ),
    "oauth.device_expired": Msg(
        "Kod logowania wygasł, zanim go użyto.",
        "The sign-in code expired before it was used.",
    ),
    "oauth.device_expired.hint": Msg(
        "Uruchom bpmnb oauth login ponownie i wpisz nowy kod w ciągu kilku minut.",
        "Run bpmnb oauth login again and enter the new code within a few minutes.",
    ),
    "oauth.token_refused": Msg(
        "Entra ID nie wydało tokenu ({error}).",
        "Entra ID issued no token ({error}).",
    ),
    "oauth.token_refused.hint": Msg(
        "Kod AADSTS w nawiasie wyjaśnia strona https://login.microsoftonline.com/error",
        "The AADSTS code in brackets is explained at "
        "https://login.microsoftonline.com/error",
    ),
    "oauth.identity_tls": Msg(
        "Certyfikat usługi logowania Microsoft nie jest zaufany.",
        "The Microsoft sign-in service's certificate is not trusted.",
    ),
    "oauth.identity_tls.hint": Msg(
        "Jeśli sieć przechwytuje TLS, wskaż certyfikat urzędu tej sieci w polu "
        "Plik CA.",
        "If the network intercepts TLS, put its authority's certificate in the "
        "CA file field.",
    ),
    "oauth.identity_unreachable": Msg(
        "Nie udało się połączyć z usługą logowania Microsoft.",
        "The Microsoft sign-in service could not be reached.",
    ),
    "oauth.identity_unreachable.hint": Msg(
        "Sprawdź dostęp do login.microsoftonline.com (port 443) i serwer proxy; "
        "kolejka spróbuje ponownie później.",
        "Check access to login.microsoftonline.com (port 443) and the proxy; "
        "the queue will try again later.",
    ),
}

_OFFICE365: dict[str, Msg] = {
    "oauth.o365.smtp_auth_disabled": Msg(
        "Office 365 ma wyłączone SMTP AUTH dla dzierżawy lub skrzynki "
        "(5.7.139). Administrator Exchange Online włącza je dla skrzynki "
        "poleceniem: Set-CASMailbox -Identity {mailbox} "
        "-SmtpClientAuthenticationDisabled $false, a dla całej organizacji: "
        "Set-TransportConfig -SmtpClientAuthenticationDisabled $false. Zmiana "
        "działa po kilkunastu minutach; domyślne zabezpieczenia (security "
        "defaults) też blokują SMTP AUTH.",
        "Office 365 has SMTP AUTH turned off for the tenant or the mailbox "
        "(5.7.139). An Exchange Online admin turns it on for the mailbox with: "
        "Set-CASMailbox -Identity {mailbox} -SmtpClientAuthenticationDisabled "
        "$false, and for the whole organisation with: Set-TransportConfig "
        "-SmtpClientAuthenticationDisabled $false. It takes effect after a "
        "quarter of an hour or so; security defaults block SMTP AUTH as well.",
    ),
    "oauth.o365.basic_retired": Msg(
        "Office 365 nie przyjmuje już logowania hasłem przy wysyłce (5.7.30). "
        "Zmień metodę uwierzytelniania na OAuth2 Office 365 i zarejestruj "
        "aplikację w Entra ID (notatnik 05_office365).",
        "Office 365 no longer accepts password sign-in for sending (5.7.30). "
        "Switch the authentication method to OAuth2 Office 365 and register an "
        "app in Entra ID (notebook 05_office365).",
    ),
    "oauth.o365.send_as_denied_app": Msg(
        "Exchange Online nie pozwala wysłać jako {sender} (SendAsDenied). "
        "Administrator rejestruje jednostkę usługi aplikacji: "
        "New-ServicePrincipal -AppId {client_id} -ObjectId {object_id}, nadaje "
        "jej dostęp do skrzynki: Add-MailboxPermission -Identity {mailbox} "
        "-User {object_id} -AccessRights FullAccess, a gdy nadawca jest inną "
        "skrzynką: Add-RecipientPermission -Identity {sender} -Trustee "
        "{mailbox} -AccessRights SendAs",
        "Exchange Online does not let the app send as {sender} (SendAsDenied). "
        "An admin registers the app's service principal: New-ServicePrincipal "
        "-AppId {client_id} -ObjectId {object_id}, grants it the mailbox: "
        "Add-MailboxPermission -Identity {mailbox} -User {object_id} "
        "-AccessRights FullAccess, and when the sender is another mailbox: "
        "Add-RecipientPermission -Identity {sender} -Trustee {mailbox} "
        "-AccessRights SendAs",
    ),
    "oauth.o365.send_as_denied_user": Msg(
        "Konto {login} nie ma prawa wysyłać jako {sender} (SendAsDenied). "
        "Administrator nadaje je poleceniem: Add-RecipientPermission -Identity "
        "{sender} -Trustee {login} -AccessRights SendAs",
        "The account {login} has no right to send as {sender} (SendAsDenied). "
        "An admin grants it with: Add-RecipientPermission -Identity {sender} "
        "-Trustee {login} -AccessRights SendAs",
    ),
    "oauth.o365.auth_unsuccessful_app": Msg(
        "Office 365 odrzucił token (5.7.3). Najczęściej jednostka usługi "
        "aplikacji nie ma dostępu do skrzynki {mailbox}: New-ServicePrincipal "
        "-AppId {client_id} -ObjectId {object_id}, potem Add-MailboxPermission "
        "-Identity {mailbox} -User {object_id} -AccessRights FullAccess. "
        "Sprawdź też token: bpmnb oauth preflight",
        "Office 365 refused the token (5.7.3). Most often the app's service "
        "principal has no access to the mailbox {mailbox}: New-ServicePrincipal "
        "-AppId {client_id} -ObjectId {object_id}, then Add-MailboxPermission "
        "-Identity {mailbox} -User {object_id} -AccessRights FullAccess. Check "
        "the token too: bpmnb oauth preflight",
    ),
    "oauth.o365.auth_unsuccessful_user": Msg(
        "Office 365 odrzucił token użytkownika (5.7.3). Login musi być adresem "
        "konta, które się zalogowało, a token musi mieć zakres SMTP.Send; "
        "sprawdź: bpmnb oauth preflight, w razie potrzeby bpmnb oauth login.",
        "Office 365 refused the user's token (5.7.3). The login must be the "
        "address of the account that signed in, and the token needs the "
        "SMTP.Send scope; check with bpmnb oauth preflight, then bpmnb oauth "
        "login if needed.",
    ),
    "oauth.o365.placeholder_object_id": Msg(
        "<Object ID aplikacji z Enterprise applications>",
        "<Object ID of the app under Enterprise applications>",
    ),
    "oauth.o365.placeholder_mailbox": Msg("<adres skrzynki>", "<mailbox address>"),
    "oauth.o365.placeholder_client_id": Msg(
        "<Application (client) ID>", "<application (client) ID>"
    ),
}

_PREFLIGHT: dict[str, Msg] = {
    "oauth.preflight.not_jwt": Msg(
        "Otrzymany token nie jest tokenem JWT, więc nie można go sprawdzić.",
        "The token received is not a JWT, so it cannot be inspected.",
    ),
    "oauth.preflight.audience": Msg(
        "Token jest przeznaczony dla {audience}, a Exchange Online przyjmuje "
        "tylko: {expected}. Zakres musi wskazywać zasób Office 365 Exchange "
        "Online, a nie Microsoft Graph.",
        "The token is meant for {audience}, but Exchange Online takes only: "
        "{expected}. The scope must name the Office 365 Exchange Online "
        "resource, not Microsoft Graph.",
    ),
    "oauth.preflight.role_missing": Msg(
        "Token aplikacji nie ma roli SMTP.SendAsApp (ma: {roles}). W API "
        "permissions aplikacji {client_id} dodaj Office 365 Exchange Online > "
        "Application permissions > SMTP.SendAsApp i udziel zgody "
        "administratora.",
        "The app token lacks the SMTP.SendAsApp role (it has: {roles}). In the "
        "API permissions of app {client_id} add Office 365 Exchange Online > "
        "Application permissions > SMTP.SendAsApp and grant admin consent.",
    ),
    "oauth.preflight.scope_missing": Msg(
        "Token użytkownika nie ma zakresu SMTP.Send (ma: {scopes}). Dodaj "
        "delegowane uprawnienie SMTP.Send i zaloguj się ponownie: bpmnb oauth "
        "login.",
        "The user token lacks the SMTP.Send scope (it has: {scopes}). Add the "
        "delegated SMTP.Send permission and sign in again: bpmnb oauth login.",
    ),
    "oauth.preflight.delegated_for_app": Msg(
        "Ustawienia wskazują logowanie aplikacji, a token należy do użytkownika.",
        "The settings use app sign-in, but the token belongs to a user.",
    ),
    "oauth.preflight.app_for_delegated": Msg(
        "Ustawienia wskazują logowanie użytkownika kodem, a token należy do aplikacji.",
        "The settings use user code sign-in, but the token belongs to an app.",
    ),
    "oauth.preflight.no_expiry": Msg(
        "Token nie podaje czasu ważności (exp).",
        "The token states no expiry time (exp).",
    ),
    "oauth.preflight.expired": Msg(
        "Token wygasł {ago} s temu. Sprawdź zegar tego komputera; bpmnb "
        "odnawia tokeny przed wygaśnięciem.",
        "The token expired {ago} s ago. Check this computer's clock; bpmnb "
        "renews tokens before they expire.",
    ),
    "oauth.preflight.not_yet": Msg(
        "Token będzie ważny dopiero za {seconds} s: zegar tego komputera się spóźnia.",
        "The token becomes valid only in {seconds} s: this computer's clock is behind.",
    ),
    "oauth.preflight.other_tenant": Msg(
        "Token wydała dzierżawa {token_tenant}, a ustawienia wskazują {tenant}.",
        "The token comes from tenant {token_tenant}, but the settings name {tenant}.",
    ),
    "oauth.preflight.other_app": Msg(
        "Token wydano aplikacji {token_app}, a ustawienia wskazują {client_id}.",
        "The token was issued to app {token_app}, but the settings name {client_id}.",
    ),
    "oauth.preflight.other_user": Msg(
        "Token należy do {token_user}, a login w ustawieniach to {login}; "
        "Exchange Online wymaga zgodności.",
        "The token belongs to {token_user} while the settings' login is "
        "{login}; Exchange Online needs them to match.",
    ),
}

_FACTS: dict[str, Msg] = {
    "oauth.preflight.fact.kind": Msg("Rodzaj tokenu", "Token kind"),
    "oauth.preflight.fact.audience": Msg("Odbiorca (aud)", "Audience (aud)"),
    "oauth.preflight.fact.tenant": Msg("Dzierżawa (tid)", "Tenant (tid)"),
    "oauth.preflight.fact.app_id": Msg("Aplikacja (appid)", "Application (appid)"),
    "oauth.preflight.fact.object_id": Msg(
        "Obiekt jednostki usługi lub użytkownika (oid)",
        "Service principal or user object (oid)",
    ),
    "oauth.preflight.fact.user": Msg("Użytkownik (upn)", "User (upn)"),
    "oauth.preflight.fact.roles": Msg("Role aplikacji (roles)", "App roles (roles)"),
    "oauth.preflight.fact.scopes": Msg(
        "Zakresy delegowane (scp)", "Delegated scopes (scp)"
    ),
    "oauth.preflight.fact.expires_at": Msg("Ważny do", "Valid until"),
    "oauth.preflight.fact.not_before": Msg("Ważny od", "Valid from"),
    "oauth.preflight.kind.app": Msg(
        "aplikacja (client credentials)", "application (client credentials)"
    ),
    "oauth.preflight.kind.delegated": Msg(
        "użytkownik (uprawnienie delegowane)", "user (delegated permission)"
    ),
    "oauth.preflight.kind.unknown": Msg("nieznany", "unknown"),
}

_CLI: dict[str, Msg] = {
    "oauth.cli.no_settings": Msg(
        "Nie zapisano jeszcze ustawień konta (bpmnb settings).",
        "No account settings are saved yet (bpmnb settings).",
    ),
    "oauth.cli.device_prompt": Msg(
        "Otwórz w przeglądarce {url} i wpisz kod {code} (ważny {minutes} min). "
        "Czekam na zalogowanie…",
        "Open {url} in a browser and enter the code {code} (valid for {minutes} "
        "min). Waiting for the sign-in…",
    ),
    "oauth.cli.secret_prompt": Msg(
        "Klucz tajny aplikacji (Value)", "Application client secret (Value)"
    ),
    "oauth.cli.secret_saved": Msg(
        "Klucz tajny zapisano w magazynie sekretów ({store}).",
        "The client secret was saved in the secret store ({store}).",
    ),
    "oauth.cli.token_ok": Msg(
        "Token Office 365 uzyskany ({kind}); logowanie zapisano w magazynie sekretów.",
        "Office 365 token obtained ({kind}); the sign-in is kept in the secret store.",
    ),
    "oauth.cli.preflight_ok": Msg(
        "Token wygląda poprawnie dla Exchange Online.",
        "The token looks right for Exchange Online.",
    ),
    "oauth.cli.preflight_failed": Msg(
        "Token nie nadaje się do wysyłki:", "The token is not fit for sending:"
    ),
    "oauth.cli.logged_out": Msg(
        "Usunięto zapisane tokeny Office 365.", "Stored Office 365 tokens removed."
    ),
    "oauth.cli.secret_forgotten": Msg(
        "Usunięto też klucz tajny aplikacji.", "The client secret was removed too."
    ),
    "oauth.cli.status": Msg(
        "Przepływ: {flow}; dzierżawa: {tenant_id}; aplikacja: {client_id}; "
        "wysyłka jako: {send_as}; klucz tajny zapisany: {secret}; konta: "
        "{accounts}; token odświeżania: {refresh}; token ważny do: {expires}",
        "Flow: {flow}; tenant: {tenant_id}; app: {client_id}; sends as: "
        "{send_as}; client secret stored: {secret}; accounts: {accounts}; "
        "refresh token: {refresh}; token valid until: {expires}",
    ),
    "oauth.cli.yes": Msg("tak", "yes"),
    "oauth.cli.no": Msg("nie", "no"),
    "oauth.cli.none": Msg("brak", "none"),
}

MESSAGES: dict[str, Msg] = {
    **_SETTINGS,
    **_TOKENS,
    **_OFFICE365,
    **_PREFLIGHT,
    **_FACTS,
    **_CLI,
}
