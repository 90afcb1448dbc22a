"""User-facing text of the rules area (keys start with ``rules.``).

Every finding names its field; ``{label}`` is the field's label in the same
language (see :mod:`bpmnb.catalog.fields`).
"""

from bpmnb.i18n import Msg

MESSAGES: dict[str, Msg] = {
    # Levels, as the CLI and the form print them.
    "rules.level.error": Msg("błąd", "error"),
    "rules.level.warning": Msg("ostrzeżenie", "warning"),
    # Parsing: type and range problems reported by the settings model.
    "rules.not_mapping": Msg(
        "Ustawienia muszą być zbiorem par pole = wartość (obiekt JSON lub tabela "
        "TOML).",
        "Settings must be a set of field = value pairs (a JSON object or a TOML "
        "table).",
    ),
    "rules.unknown_field": Msg(
        "Nieznane pole „{field}”: sprawdź pisownię; dozwolone pola to: {allowed}.",
        "Unknown field “{field}”: check the spelling; the allowed fields are: "
        "{allowed}.",
    ),
    "rules.port_range": Msg(
        "Port musi być liczbą od 1 do 65535 (podano: {value}).",
        "The port must be a number from 1 to 65535 (given: {value}).",
    ),
    "rules.timeout_range": Msg(
        "Limit czasu to liczba sekund większa od 0 i nie większa niż 600 "
        "(podano: {value}).",
        "The timeout is a number of seconds above 0 and at most 600 (given: {value}).",
    ),
    "rules.positive_int": Msg(
        "{label}: wpisz liczbę całkowitą większą od zera albo zostaw pole puste "
        "(podano: {value}).",
        "{label}: enter a whole number above zero or leave the field empty "
        "(given: {value}).",
    ),
    "rules.choice": Msg(
        "{label}: „{value}” nie jest jedną z możliwości; wybierz: {allowed}.",
        "{label}: “{value}” is not one of the options; choose: {allowed}.",
    ),
    "rules.boolean": Msg(
        "{label}: wpisz tak/nie (true/false), podano: {value}.",
        "{label}: enter yes/no (true/false), given: {value}.",
    ),
    "rules.text": Msg(
        "{label}: oczekiwano tekstu (podano: {value}).",
        "{label}: text was expected (given: {value}).",
    ),
    "rules.server_type": Msg(
        "Typ serwera to zawsze SMTP; tej wartości nie można zmienić.",
        "The server type is always SMTP; it cannot be changed.",
    ),
    "rules.invalid_value": Msg(
        "{label}: nieprawidłowa wartość ({reason}).",
        "{label}: invalid value ({reason}).",
    ),
    # Header and command safety.
    "rules.invisible_char": Msg(
        "{label}: pole zawiera niewidoczny znak ({code}), zwykle skopiowany "
        "razem z tekstem ze strony WWW; wpisz wartość ręcznie.",
        "{label}: the field contains an invisible character ({code}), usually "
        "copied along with text from a web page; type the value by hand.",
    ),
    "rules.control_chars": Msg(
        "{label}: pole zawiera znak nowej linii, NUL lub inny znak sterujący; "
        "usuń go. Takie znaki "
        "pozwoliłyby dopisać do wiadomości obce nagłówki.",
        "{label}: the field contains a line break, a NUL or another control "
        "character; remove it. "
        "Such characters would let foreign headers be added to the message.",
    ),
    "rules.password_nul": Msg(
        "Hasło zawiera znak NUL, którego nie da się przesłać w logowaniu SMTP.",
        "The password contains a NUL character, which SMTP login cannot carry.",
    ),
    # Required fields.
    "rules.required": Msg(
        "Pole „{label}” jest wymagane, aby wysyłać wiadomości.",
        "The field “{label}” is required to send messages.",
    ),
    "rules.login_required": Msg(
        "Podaj login: {provider} przyjmuje pocztę tylko od zalogowanych użytkowników.",
        "Enter the login: {provider} accepts mail only from signed-in users.",
    ),
    "rules.login_for_password": Msg(
        "Podano hasło, ale brak loginu; wpisz login skrzynki.",
        "A password is given but the login is empty; enter the mailbox login.",
    ),
    "rules.no_auth": Msg(
        "Bez loginu wiadomości pójdą bez logowania; zadziała to tylko z serwerem, "
        "który przyjmuje pocztę z Twojego adresu IP bez hasła.",
        "Without a login, messages go out without signing in; that works only "
        "with a server that accepts mail from your IP address without a password.",
    ),
    "rules.password_required": Msg(
        "Wpisz hasło do skrzynki: metoda „Login i hasło” go wymaga, a żadne nie "
        "jest zapisane.",
        "Enter the mailbox password: the “Login and password” method needs it and "
        "none is stored.",
    ),
    "rules.password_unused": Msg(
        "Przy OAuth2 hasło nie jest używane i nie zostanie zapisane; usuń je z "
        "formularza.",
        "With OAuth2 the password is not used and will not be saved; clear it from "
        "the form.",
    ),
    # Addresses.
    "rules.address_no_at": Msg(
        "{label}: „{value}” nie jest adresem email (brak znaku @).",
        "{label}: “{value}” is not an email address (no @ sign).",
    ),
    "rules.address_with_name": Msg(
        "{label}: wpisz sam adres ({address}); nazwę nadawcy wpisz w polu "
        "„Nazwa wyświetlana”.",
        "{label}: enter the bare address ({address}); put the sender's name "
        "in the “Display name” field.",
    ),
    "rules.address_invalid": Msg(
        "{label}: „{value}” nie jest poprawnym adresem email.",
        "{label}: “{value}” is not a valid email address.",
    ),
    # Server name.
    "rules.host_scheme": Msg(
        "Nazwa serwera nie może zaczynać się od „{scheme}://”; wpisz samą nazwę, "
        "np. {bare}.",
        "The server name cannot start with “{scheme}://”; enter just the name, "
        "e.g. {bare}.",
    ),
    "rules.host_port": Msg(
        "Nazwa serwera zawiera port: wpisz „{bare}” jako nazwę, a {port} w polu Port.",
        "The server name includes a port: enter “{bare}” as the name and {port} in "
        "the Port field.",
    ),
    "rules.host_space": Msg(
        "Nazwa serwera nie może zawierać spacji.",
        "The server name cannot contain spaces.",
    ),
    "rules.host_path": Msg(
        "Nazwa serwera to sama nazwa hosta, bez ukośników i ścieżki (np. "
        "smtp.domena.pl).",
        "The server name is the host name alone, without slashes or a path (e.g. "
        "smtp.example.com).",
    ),
    "rules.host_at": Msg(
        "Nazwa serwera wygląda jak adres email; wpisz nazwę serwera SMTP, np. "
        "smtp.{domain}.",
        "The server name looks like an email address; enter the SMTP server's "
        "name, e.g. smtp.{domain}.",
    ),
    "rules.host_invalid": Msg(
        "„{value}” nie jest poprawną nazwą serwera.",
        "“{value}” is not a valid server name.",
    ),
    # Port and encryption.
    "rules.ssl_on_starttls_port": Msg(
        "Port {port} zaczyna rozmowę bez szyfrowania i przechodzi na TLS poleceniem "
        "STARTTLS; wybierz „TLS” lub „Automatyczne”, albo port 465 dla SSL/TLS.",
        "Port {port} starts unencrypted and switches to TLS with STARTTLS; choose "
        "TLS or Automatic, or port 465 for SSL/TLS.",
    ),
    "rules.plain_on_465": Msg(
        "Port 465 oczekuje SSL/TLS od pierwszego bajtu; wybierz „SSL/TLS” lub "
        "„Automatyczne”, albo port 587 dla TLS.",
        "Port 465 expects SSL/TLS from the first byte; choose SSL/TLS or "
        "Automatic, or port 587 for TLS.",
    ),
    "rules.cleartext_credentials": Msg(
        "Bez szyfrowania login i hasło przejdą przez sieć otwartym tekstem; "
        "wybierz „Automatyczne”, jeśli serwer na to pozwala.",
        "Without encryption, the login and password cross the network in clear "
        "text; choose Automatic if the server allows it.",
    ),
    "rules.port_not_open": Msg(
        "Port {port} nie należy do portów otwartych domyślnie w chmurze Comarch "
        "(25, 465, 587). Poproś o jego otwarcie, wysyłając na {support} poniższe "
        "zgłoszenie:\n\n{request}",
        "Port {port} is not among the ports open by default in the Comarch cloud "
        "(25, 465, 587). Ask for it to be opened by sending this request to "
        "{support}:\n\n{request}",
    ),
    "rules.port_request.subject": Msg(
        "Prośba o otwarcie portu {port} dla poczty wychodzącej",
        "Request to open port {port} for outgoing mail",
    ),
    "rules.port_request.body": Msg(
        "Do: {support}\n"
        "Temat: {subject}\n\n"
        "Dzień dobry,\n\n"
        "prosimy o otwarcie w naszym środowisku Comarch BPM w chmurze połączeń "
        "wychodzących na port TCP {port} do serwera poczty {host}.\n"
        "Korzysta z niego konto pocztowe „{account}” ({sender}), z którego "
        "wysyłamy powiadomienia.\n\n"
        "Z góry dziękujemy.",
        "To: {support}\n"
        "Subject: {subject}\n\n"
        "Hello,\n\n"
        "please open outgoing connections to TCP port {port} on the mail server "
        "{host} for our Comarch BPM cloud environment.\n"
        "The mail account “{account}” ({sender}), which sends our notifications, "
        "uses it.\n\n"
        "Thank you in advance.",
    ),
    "rules.timeout_short": Msg(
        "Limit czasu {value} s jest bardzo krótki; wolny serwer nie zdąży "
        "odpowiedzieć. Zwykle wystarcza 30 s.",
        "A timeout of {value} s is very short; a slow server will not answer in "
        "time. 30 s is usually enough.",
    ),
    "rules.timeout_long": Msg(
        "Przy limicie {value} s zawieszony serwer blokuje wysyłkę na długo; "
        "zwykle wystarcza 30 s.",
        "With a {value} s timeout a stalled server holds up sending for long; "
        "30 s is usually enough.",
    ),
    # Extra CA file.
    "rules.ca_file_missing": Msg(
        "Plik CA {path} nie istnieje.", "The CA file {path} does not exist."
    ),
    "rules.ca_file_unreadable": Msg(
        "Nie można odczytać pliku CA {path}: {reason}.",
        "The CA file {path} cannot be read: {reason}.",
    ),
    "rules.ca_file_not_pem": Msg(
        "Plik {path} nie zawiera certyfikatu w formacie PEM (-----BEGIN "
        "CERTIFICATE-----).",
        "The file {path} holds no PEM certificate (-----BEGIN CERTIFICATE-----).",
    ),
    # OAuth2.
    "rules.google_oauth": Msg(
        "Konta Google z uwierzytelnianiem OAuth2 nie są obsługiwane. Wybierz "
        "„Login i hasło” i wpisz hasło do aplikacji wygenerowane na koncie Google.",
        "Google accounts with OAuth2 authentication are not supported. Choose "
        "“Login and password” and enter an app password generated in the Google "
        "account.",
    ),
    "rules.oauth_office365_only": Msg(
        "OAuth2 działa tylko z serwerem Microsoft Office 365 ({hosts}); dla "
        "serwera {host} wybierz „Login i hasło”.",
        "OAuth2 works only with the Microsoft Office 365 server ({hosts}); for "
        "the server {host} choose “Login and password”.",
    ),
    "rules.oauth_loopback": Msg(
        "OAuth2 z serwerem lokalnym {host}: dopuszczone tylko do prób.",
        "OAuth2 with the local server {host}: allowed for trials only.",
    ),
    "rules.oauth_encryption": Msg(
        "OAuth2 wymaga szyfrowania: Office 365 przyjmuje logowanie tylko po TLS.",
        "OAuth2 needs encryption: Office 365 accepts sign-in only over TLS.",
    ),
    "rules.oauth_client_id": Msg(
        "Identyfikator aplikacji z Microsoft Entra ma postać GUID, np. "
        "00000000-0000-0000-0000-000000000000 (podano: {value}).",
        "A Microsoft Entra application ID is a GUID, e.g. "
        "00000000-0000-0000-0000-000000000000 (given: {value}).",
    ),
    "rules.oauth_authority": Msg(
        "Adres usługi tożsamości musi zaczynać się od https:// (podano: {value}).",
        "The identity service address must start with https:// (given: {value}).",
    ),
    "rules.oauth_cert_file": Msg(
        "Plik certyfikatu aplikacji {path} nie istnieje lub nie można go odczytać.",
        "The application certificate file {path} does not exist or cannot be read.",
    ),
    # Providers.
    "rules.provider_port": Msg(
        "{provider} podaje dla serwera {host}: {documented}; ustawiono port {port} "
        "z szyfrowaniem „{encryption}”.",
        "{provider} documents for the server {host}: {documented}; port {port} is "
        "set with “{encryption}” encryption.",
    ),
    "rules.wp_port": Msg(
        "Poczta WP podaje w swojej pomocy port 465 z SSL/TLS. Przykład Comarch "
        "używa portu 587 z szyfrowaniem „Automatyczne”; jeśli test się nie uda, "
        "ustaw 465 i SSL/TLS.",
        "WP Mail's help documents port 465 with SSL/TLS. The Comarch example uses "
        "port 587 with Automatic encryption; if the test fails, set 465 and "
        "SSL/TLS.",
    ),
    "rules.wp_access": Msg(
        "W ustawieniach Poczty WP włącz dostęp dla programów pocztowych; przy "
        "logowaniu dwuetapowym użyj hasła do aplikacji zewnętrznej.",
        "In WP Mail's settings, turn on access for mail programs; with two-step "
        "sign-in, use an external application password.",
    ),
    "rules.onet_login": Msg(
        "Onet Poczta loguje pełnym adresem email, nie samą nazwą użytkownika: "
        "wpisz w polu Login cały adres skrzynki, np. annanowak@op.pl.",
        "Onet Mail signs in with the full email address, not the user name "
        "alone: enter the whole mailbox address as the login, e.g. "
        "annanowak@op.pl.",
    ),
    "rules.login_address": Msg(
        "{provider} oczekuje jako loginu pełnego adresu email, np. {expected}.",
        "{provider} expects the full email address as the login, e.g. {expected}.",
    ),
    "rules.login_local": Msg(
        "{provider} podaje jako login samą nazwę użytkownika (część przed @), "
        "np. {expected}; jeśli logowanie się nie uda, wpisz ją.",
        "{provider} documents the user name alone (the part before @) as the "
        "login, e.g. {expected}; if signing in fails, enter that.",
    ),
    "rules.gmail_app_password": Msg(
        "Gmail wymaga tu hasła do aplikacji: 16 małych liter (spacje są "
        "usuwane), a nie zwykłego hasła konta Google. Jak je utworzyć, pokazuje "
        "notatnik 04_gmail.ipynb.",
        "Gmail needs an app password here: 16 lowercase letters (spaces are "
        "removed), not the regular Google account password. The 04_gmail.ipynb "
        "notebook shows how to create one.",
    ),
    "rules.sender_foreign_domain": Msg(
        "Adres {sender} nie należy do domen {provider} ({domains}); serwer "
        "{host} może podmienić nadawcę lub odrzucić wiadomość, chyba że ten adres "
        "jest zweryfikowany na koncie.",
        "The address {sender} is outside {provider}'s domains ({domains}); the "
        "server {host} may replace the sender or refuse the message unless the "
        "address is verified in the account.",
    ),
    "rules.sender_provider_host": Msg(
        "Adresy w domenie {domain} wysyła się przez serwer {expected} ({provider}); "
        "przez {host} odbiorcy mogą odrzucić je jako podszyte.",
        "Addresses in {domain} are sent through {expected} ({provider}); sent "
        "through {host}, recipients may reject them as spoofed.",
    ),
    "rules.sender_not_login": Msg(
        "{provider} wysyła jako zalogowany użytkownik ({login}); inny nadawca "
        "({sender}) zostanie podmieniony, chyba że jest aliasem konta.",
        "{provider} sends as the signed-in user ({login}); another sender "
        "({sender}) is replaced unless it is an alias of the account.",
    ),
    "rules.daily_cap_above_provider": Msg(
        "{provider} pozwala wysłać najwyżej {cap} wiadomości dziennie; limit "
        "{value} nie zostanie osiągnięty.",
        "{provider} allows at most {cap} messages a day; a cap of {value} will "
        "not be reached.",
    ),
}
