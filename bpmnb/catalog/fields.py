"""Labels and help texts of the settings fields (keys ``field.<name>`` and
``field.<name>.help``), and the names of choices (``choice.<enum>.<value>``).

The Polish labels follow the "Serwer pocztowy" tab of Comarch BPM so that a
user moving between the two recognises every field.
"""

from bpmnb.i18n import Msg

MESSAGES: dict[str, Msg] = {
    # Section titles.
    "field.section.general": Msg("Ustawienia", "Settings"),
    "field.section.account": Msg(
        "Ustawienia konta pocztowego", "Mail account settings"
    ),
    "field.section.server": Msg("Serwer", "Server"),
    "field.section.auth": Msg("Uwierzytelnianie", "Authentication"),
    "field.section.oauth": Msg("OAuth2 (Office 365)", "OAuth2 (Office 365)"),
    "field.section.limits": Msg("Limity dostawcy", "Provider limits"),
    # Fields.
    "field.delivery_component": Msg(
        "Do wysyłania wiadomości email zastosuj", "Use for sending email"
    ),
    "field.delivery_component.help": Msg(
        "Kto doręcza wiadomości: ten proces od razu albo pracownik kolejki w tle.",
        "Who delivers messages: this process at once, or the queue worker in the "
        "background.",
    ),
    "field.enabled": Msg("Włącz wysyłanie wiadomości email", "Enable sending email"),
    "field.enabled.help": Msg(
        "Dopóki jest wyłączone, powiadomienia czekają i nie są wysyłane.",
        "While this is off, notifications wait and are not sent.",
    ),
    "field.account_name": Msg("Nazwa konta", "Account name"),
    "field.account_name.help": Msg(
        "Nazwa, pod którą rozpoznasz to konto, np. Comarch DMS.",
        "A name to recognise this account by, e.g. Comarch DMS.",
    ),
    "field.sender": Msg("Email (wychodzący)", "Outgoing email"),
    "field.sender.help": Msg(
        "Adres skrzynki, z której wychodzą powiadomienia.",
        "The address of the mailbox that notifications come from.",
    ),
    "field.display_name": Msg("Nazwa wyświetlana", "Display name"),
    "field.display_name.help": Msg(
        "Odbiorca widzi ją jako nadawcę wiadomości.",
        "Recipients see it as the sender of the message.",
    ),
    "field.reply_to": Msg("Adres zwrotny", "Reply-to address"),
    "field.reply_to.help": Msg(
        "Opcjonalny; odpowiedzi trafią tutaj, także gdy różni się od nadawcy.",
        "Optional; replies go here, even when it differs from the sender.",
    ),
    "field.description": Msg("Opis", "Description"),
    "field.description.help": Msg(
        "Dowolna notatka o przeznaczeniu konta.",
        "Any note about what the account is for.",
    ),
    "field.server_type": Msg("Typ serwera", "Server type"),
    "field.server_type.help": Msg(
        "Zawsze SMTP; tego pola nie można zmienić.",
        "Always SMTP; it cannot be changed.",
    ),
    "field.host": Msg("Nazwa serwera", "Server name"),
    "field.host.help": Msg(
        "Sama nazwa serwera poczty wychodzącej, np. smtp.domena.pl, bez https:// "
        "i bez portu.",
        "Just the outgoing server's name, e.g. smtp.example.com, without https:// "
        "or a port.",
    ),
    "field.port": Msg("Port", "Port"),
    "field.port.help": Msg(
        "W chmurze otwarte są porty 25, 465 i 587.",
        "In the cloud, ports 25, 465 and 587 are open.",
    ),
    "field.encryption": Msg("Metoda szyfrowania", "Encryption method"),
    "field.encryption.help": Msg(
        "W razie wątpliwości wybierz „Automatyczne”.", "If unsure, choose “Automatic”."
    ),
    "field.auth": Msg("Metoda uwierzytelniania", "Authentication method"),
    "field.auth.help": Msg(
        "OAuth2 jest dostępne tylko dla kont Microsoft Office 365.",
        "OAuth2 is available for Microsoft Office 365 accounts only.",
    ),
    "field.login": Msg("Login", "Login"),
    "field.login.help": Msg(
        "Nazwa użytkownika skrzynki; u niektórych dostawców cały adres email.",
        "The mailbox's user name; some providers want the whole address.",
    ),
    "field.password": Msg("Hasło", "Password"),
    "field.password.help": Msg(
        "Przechowywane osobno od ustawień, nigdy w pliku ustawień.",
        "Kept apart from the settings, never in the settings file.",
    ),
    "field.timeout": Msg("Limit czasu (s)", "Timeout (s)"),
    "field.timeout.help": Msg(
        "Jak długo czekać na każdy krok rozmowy z serwerem.",
        "How long to wait for each step of the conversation with the server.",
    ),
    "field.ca_file": Msg("Dodatkowy plik CA", "Extra CA file"),
    "field.ca_file.help": Msg(
        "Plik PEM z certyfikatem urzędu, któremu ufać oprócz systemowych.",
        "A PEM file with an authority to trust besides the system ones.",
    ),
    "field.tenant_id": Msg("Identyfikator dzierżawy (Tenant ID)", "Tenant ID"),
    "field.client_id": Msg(
        "Identyfikator aplikacji (Client ID)", "Application (client) ID"
    ),
    "field.oauth_flow": Msg("Sposób uzyskania tokenu", "How to obtain the token"),
    "field.client_secret": Msg("Klucz tajny klienta", "Client secret"),
    "field.cert_file": Msg(
        "Certyfikat aplikacji (PEM)", "Application certificate (PEM)"
    ),
    "field.cert_thumbprint": Msg("Odcisk certyfikatu", "Certificate thumbprint"),
    "field.send_as": Msg("Skrzynka nadawcy", "Mailbox to send as"),
    "field.authority_host": Msg("Adres usługi tożsamości", "Identity service address"),
    "field.daily_cap": Msg("Dzienny limit wiadomości", "Daily message cap"),
    "field.rate_per_minute": Msg("Wiadomości na minutę", "Messages per minute"),
    # Choices.
    "choice.encryption.none": Msg("Brak", "None"),
    "choice.encryption.auto": Msg("Automatyczne", "Automatic"),
    "choice.encryption.ssl": Msg("SSL/TLS", "SSL/TLS"),
    "choice.encryption.starttls": Msg("TLS", "TLS (STARTTLS)"),
    "choice.auth.password": Msg("Login i hasło", "Login and password"),
    "choice.auth.oauth2_office365": Msg("OAuth2 (Office 365)", "OAuth2 (Office 365)"),
    "choice.delivery_component.inprocess": Msg(
        "Komponent mailowy w tym procesie", "Mail component in this process"
    ),
    "choice.delivery_component.worker": Msg(
        "Pracownik kolejki w tle", "Background queue worker"
    ),
    "choice.oauth_flow.client_secret": Msg(
        "Aplikacja z kluczem tajnym", "Application with a client secret"
    ),
    "choice.oauth_flow.certificate": Msg(
        "Aplikacja z certyfikatem", "Application with a certificate"
    ),
    "choice.oauth_flow.device_code": Msg(
        "Logowanie użytkownika kodem urządzenia", "User sign-in with a device code"
    ),
    "choice.yes": Msg("Tak", "Yes"),
    "choice.no": Msg("Nie", "No"),
}
