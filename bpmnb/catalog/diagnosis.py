"""User-facing text of the diagnosis area (keys start with ``diagnosis.``).

``diagnosis.<CODE>`` explains a fault from :class:`bpmnb.errors.Code`,
``diagnosis.<CODE>.hint`` says how to fix it; neither has ``{fields}`` so
that any area can show them without knowing what to fill in.
``diagnosis.stage.<stage>`` names the steps of :class:`bpmnb.errors.Stage`.
``diagnosis.provider.*`` are the provider-aware hints of :mod:`bpmnb.hints`.
"""

from bpmnb.i18n import Msg

_CODES: dict[str, Msg] = {
    # --- explanation and fix for every Code ---------------------------------
    "diagnosis.OK": Msg(
        "Połączenie działa: serwer przyjął wszystkie kroki sprawdzenia.",
        "The connection works: the server accepted every step of the check.",
    ),
    "diagnosis.OK.hint": Msg(
        "Nic nie trzeba zmieniać. Możesz wysłać wiadomość testową.",
        "Nothing needs changing. You can send a test message.",
    ),
    "diagnosis.INVALID_SETTINGS": Msg(
        "Ustawienia konta są niepełne lub błędne, więc nie można się połączyć.",
        "The account settings are incomplete or wrong, so no connection was tried.",
    ),
    "diagnosis.INVALID_SETTINGS.hint": Msg(
        "Popraw pola wskazane przy formularzu i zapisz ustawienia ponownie.",
        "Correct the fields marked on the form and save the settings again.",
    ),
    "diagnosis.DNS_FAILED": Msg(
        "Nazwa serwera nie istnieje albo nie udało się jej przetłumaczyć na adres.",
        "The server name does not exist or could not be resolved to an address.",
    ),
    "diagnosis.DNS_FAILED.hint": Msg(
        "Sprawdź pisownię pola „Nazwa serwera” (np. smtp.wp.pl) i czy komputer "
        "ma dostęp do serwera nazw DNS.",
        "Check the spelling of the server name (e.g. smtp.wp.pl) and that this "
        "machine can reach a DNS server.",
    ),
    "diagnosis.CONNECT_REFUSED": Msg(
        "Serwer odrzucił połączenie: na tym porcie nic nie nasłuchuje albo "
        "serwer nie obsługuje tego komputera.",
        "The server refused the connection: nothing listens on that port, or "
        "the server turns this machine away.",
    ),
    "diagnosis.CONNECT_REFUSED.hint": Msg(
        "Sprawdź numer portu u dostawcy poczty (zwykle 465 lub 587) oraz "
        "nazwę serwera.",
        "Check the port number with the mail provider (usually 465 or 587) "
        "and the server name.",
    ),
    "diagnosis.CONNECT_TIMEOUT": Msg(
        "Serwer nie odpowiedział na próbę połączenia w wyznaczonym czasie.",
        "The server did not answer the connection attempt in time.",
    ),
    "diagnosis.CONNECT_TIMEOUT.hint": Msg(
        "Port może być zablokowany przez zaporę sieciową. W chmurze otwarte są "
        "tylko porty 25, 465 i 587; o inny trzeba poprosić.",
        "A firewall may block the port. In the cloud only ports 25, 465 and 587 "
        "are open; any other has to be requested.",
    ),
    "diagnosis.NO_GREETING": Msg(
        "Połączenie nawiązano, ale serwer nie przysłał powitania SMTP.",
        "The connection opened but the server sent no SMTP greeting.",
    ),
    "diagnosis.NO_GREETING.hint": Msg(
        "To zapewne nie jest serwer poczty wychodzącej albo jest przeciążony. "
        "Sprawdź port i spróbuj ponownie za chwilę.",
        "This is probably not an outgoing mail server, or it is overloaded. "
        "Check the port and try again shortly.",
    ),
    "diagnosis.SERVER_BUSY": Msg(
        "Serwer odpowiedział kodem 421: chwilowo nie przyjmuje połączeń.",
        "The server answered 421: it is not taking connections right now.",
    ),
    "diagnosis.SERVER_BUSY.hint": Msg(
        "Odczekaj kilka minut i spróbuj ponownie. Jeśli to się powtarza, "
        "skontaktuj się z dostawcą poczty.",
        "Wait a few minutes and try again. If it keeps happening, contact the "
        "mail provider.",
    ),
    "diagnosis.TLS_EXPECTED": Msg(
        "Ten port od pierwszego bajtu oczekuje szyfrowania TLS, a wybrano "
        "połączenie bez szyfrowania lub STARTTLS.",
        "This port expects TLS from the first byte, but plain SMTP or STARTTLS "
        "was chosen.",
    ),
    "diagnosis.TLS_EXPECTED.hint": Msg(
        "Ustaw „Metoda szyfrowania” na „SSL/TLS” (typowo port 465) albo zmień "
        "port na 587 z szyfrowaniem „TLS”.",
        "Set the encryption method to SSL/TLS (typically port 465), or change "
        "the port to 587 with STARTTLS.",
    ),
    "diagnosis.TLS_NOT_SPOKEN": Msg(
        "Wybrano SSL/TLS, ale serwer na tym porcie rozmawia zwykłym SMTP "
        "bez szyfrowania od pierwszego bajtu.",
        "SSL/TLS was chosen, but the server on this port speaks plain SMTP "
        "rather than TLS from the first byte.",
    ),
    "diagnosis.TLS_NOT_SPOKEN.hint": Msg(
        "Ustaw „Metoda szyfrowania” na „TLS” (STARTTLS, typowo port 587) "
        "albo zmień port na 465.",
        "Set the encryption method to STARTTLS (typically port 587), or change "
        "the port to 465.",
    ),
    "diagnosis.TLS_FAILED": Msg(
        "Nie udało się uzgodnić szyfrowania: serwer obsługuje tylko przestarzałe "
        "wersje TLS (1.0/1.1) lub szyfry, których nie używamy.",
        "Encryption could not be negotiated: the server offers only outdated "
        "TLS versions (1.0/1.1) or ciphers we do not use.",
    ),
    "diagnosis.TLS_FAILED.hint": Msg(
        "Poproś administratora serwera poczty o włączenie TLS 1.2 lub nowszego; "
        "starszych wersji nie da się bezpiecznie używać.",
        "Ask the mail server's administrator to enable TLS 1.2 or newer; older "
        "versions cannot be used safely.",
    ),
    "diagnosis.STARTTLS_UNAVAILABLE": Msg(
        "Serwer nie oferuje polecenia STARTTLS, więc nie można włączyć szyfrowania.",
        "The server does not offer STARTTLS, so encryption cannot be switched on.",
    ),
    "diagnosis.STARTTLS_UNAVAILABLE.hint": Msg(
        "Spróbuj portu 465 z „SSL/TLS”. Szyfrowanie „Brak” wybieraj tylko "
        "w zaufanej sieci wewnętrznej.",
        "Try port 465 with SSL/TLS. Choose no encryption only inside a trusted "
        "internal network.",
    ),
    "diagnosis.CERT_UNTRUSTED": Msg(
        "Certyfikat serwera nie pochodzi od zaufanego urzędu certyfikacji.",
        "The server's certificate is not issued by a trusted authority.",
    ),
    "diagnosis.CERT_UNTRUSTED.hint": Msg(
        "Jeśli serwer firmowy używa własnego urzędu, wskaż jego certyfikat w polu "
        "pliku CA. W przeciwnym razie połączenie może być przechwytywane.",
        "If a company server uses its own authority, give its certificate as "
        "the CA file. Otherwise the connection may be intercepted.",
    ),
    "diagnosis.CERT_NAME_MISMATCH": Msg(
        "Certyfikat serwera wystawiono na inną nazwę niż wpisana nazwa serwera.",
        "The server's certificate was issued for a different name than the one "
        "entered.",
    ),
    "diagnosis.CERT_NAME_MISMATCH.hint": Msg(
        "Wpisz nazwę serwera dokładnie taką, jaką podaje dostawca (np. "
        "smtp.gmail.com), a nie adres IP ani inny alias.",
        "Enter the server name exactly as the provider gives it (e.g. "
        "smtp.gmail.com), not an IP address or another alias.",
    ),
    "diagnosis.CERT_EXPIRED": Msg(
        "Certyfikat serwera stracił ważność (albo zegar tego komputera jest błędny).",
        "The server's certificate has expired (or this machine's clock is wrong).",
    ),
    "diagnosis.CERT_EXPIRED.hint": Msg(
        "Sprawdź datę i godzinę systemu; jeśli są dobre, zgłoś wygasły certyfikat "
        "administratorowi serwera poczty.",
        "Check the system date and time; if they are right, report the expired "
        "certificate to the mail server's administrator.",
    ),
    "diagnosis.AUTH_UNAVAILABLE": Msg(
        "Serwer nie oferuje logowania (AUTH) ani żadnej metody, którą obsługujemy.",
        "The server offers no login (AUTH) or no method we support.",
    ),
    "diagnosis.AUTH_UNAVAILABLE.hint": Msg(
        "Wiele serwerów pokazuje logowanie dopiero po włączeniu szyfrowania: "
        "wybierz „TLS” lub „SSL/TLS”. Przekaźnik bez logowania: wyczyść pole "
        "„Login”.",
        "Many servers offer login only after encryption starts: choose STARTTLS "
        "or SSL/TLS. For a relay without login, clear the login field.",
    ),
    "diagnosis.PLAINTEXT_REFUSED": Msg(
        "Nie wysłaliśmy hasła, bo połączenie nie jest szyfrowane.",
        "The password was not sent because the connection is not encrypted.",
    ),
    "diagnosis.PLAINTEXT_REFUSED.hint": Msg(
        "Wybierz szyfrowanie „TLS” lub „SSL/TLS”. Hasło jawnym tekstem idzie "
        "tylko przy świadomie wybranym „Brak”.",
        "Choose STARTTLS or SSL/TLS. A password goes in clear text only when no "
        "encryption was chosen on purpose.",
    ),
    "diagnosis.AUTH_FAILED": Msg(
        "Serwer odrzucił login lub hasło.",
        "The server rejected the login or password.",
    ),
    "diagnosis.AUTH_FAILED.hint": Msg(
        "Sprawdź login (u części dostawców to cały adres e-mail) i hasło; "
        "zaloguj się nimi do poczty w przeglądarce, aby je potwierdzić.",
        "Check the login (for some providers it is the whole e-mail address) and "
        "password; sign in to webmail with them to confirm.",
    ),
    "diagnosis.AUTH_REQUIRED": Msg(
        "Serwer wymaga zalogowania, a połączenie odbyło się bez logowania "
        "(pole „Login” jest puste).",
        "The server requires signing in, and the connection did not sign in "
        "(the login field is empty).",
    ),
    "diagnosis.AUTH_REQUIRED.hint": Msg(
        "Wpisz login i hasło konta. Bez logowania serwer przyjmuje pocztę "
        "tylko od komputerów, którym ufa: wtedy jego administrator musi dopisać "
        "adres tego serwera BPM.",
        "Enter the account's login and password. Without signing in, the "
        "server takes mail only from machines it trusts: its administrator "
        "then has to add this BPM server's address.",
    ),
    "diagnosis.APP_PASSWORD_REQUIRED": Msg(
        "Dostawca nie przyjmuje zwykłego hasła konta od programów pocztowych: "
        "wymaga hasła aplikacji.",
        "The provider does not accept the account's normal password from mail "
        "programs: it requires an app password.",
    ),
    "diagnosis.APP_PASSWORD_REQUIRED.hint": Msg(
        "Włącz weryfikację dwuetapową, wygeneruj hasło aplikacji w ustawieniach "
        "bezpieczeństwa konta i wpisz je w polu „Hasło”.",
        "Turn on 2-step verification, generate an app password in the account's "
        "security settings, and enter it as the password.",
    ),
    "diagnosis.AUTH_DISABLED": Msg(
        "Logowanie do SMTP jest wyłączone dla tego konta lub całej organizacji.",
        "SMTP login is switched off for this mailbox or the whole organisation.",
    ),
    "diagnosis.AUTH_DISABLED.hint": Msg(
        "Administrator poczty musi włączyć uwierzytelnione SMTP (w Office 365: "
        "„Authenticated SMTP” skrzynki) albo skonfiguruj OAuth2.",
        "The mail administrator must enable authenticated SMTP (in Office 365: "
        "the mailbox's Authenticated SMTP setting), or set up OAuth2.",
    ),
    "diagnosis.TOKEN_INVALID": Msg(
        "Token OAuth2 jest nieważny, wygasł albo nie ma uprawnienia do wysyłki SMTP.",
        "The OAuth2 token is invalid, expired, or lacks permission to send over SMTP.",
    ),
    "diagnosis.TOKEN_INVALID.hint": Msg(
        "Sprawdź rejestrację aplikacji (identyfikatory, sekret lub certyfikat, "
        "uprawnienie SMTP.Send) i zaloguj się ponownie.",
        "Check the app registration (IDs, secret or certificate, the SMTP.Send "
        "permission) and sign in again.",
    ),
    "diagnosis.SENDER_REJECTED": Msg(
        "Serwer nie pozwala wysyłać z tego adresu nadawcy.",
        "The server does not allow sending from this sender address.",
    ),
    "diagnosis.SENDER_REJECTED.hint": Msg(
        "Wpisz w „Email (wychodzący)” adres konta, na które się logujesz, "
        "albo nadaj temu kontu prawo „Wyślij jako” dla tego adresu.",
        "Use the address of the account you log in with as the sender, or give "
        "that account the Send As right for this address.",
    ),
    "diagnosis.RECIPIENT_REJECTED": Msg(
        "Serwer odrzucił adres odbiorcy.",
        "The server rejected the recipient address.",
    ),
    "diagnosis.RECIPIENT_REJECTED.hint": Msg(
        "Sprawdź pisownię adresu odbiorcy. Jeśli jest dobry, serwer może nie "
        "przekazywać poczty na zewnątrz bez zalogowania.",
        "Check the recipient's spelling. If it is right, the server may refuse "
        "to relay outside mail without login.",
    ),
    "diagnosis.MESSAGE_REJECTED": Msg(
        "Serwer odrzucił treść wiadomości.",
        "The server rejected the message content.",
    ),
    "diagnosis.MESSAGE_REJECTED.hint": Msg(
        "Sprawdź rozmiar załączników i treść (filtry antyspamowe); odpowiedź "
        "serwera zwykle mówi, co mu nie odpowiada.",
        "Check attachment size and content (spam filters); the server's reply "
        "usually says what it objects to.",
    ),
    "diagnosis.MESSAGE_TOO_LARGE": Msg(
        "Wiadomość jest większa, niż serwer przyjmuje (limit podaje on sam w "
        "odpowiedzi na EHLO, jako SIZE); nie wysłaliśmy jej.",
        "The message is larger than the server accepts (it states its limit "
        "itself, as SIZE in its EHLO reply); it was not sent.",
    ),
    "diagnosis.MESSAGE_TOO_LARGE.hint": Msg(
        "Zmniejsz albo usuń załączniki (kodowanie base64 powiększa je o około "
        "jedną trzecią) lub udostępnij plik w inny sposób.",
        "Make the attachments smaller or remove them (base64 encoding adds "
        "about a third to their size), or share the file another way.",
    ),
    "diagnosis.TEMPORARY_FAILURE": Msg(
        "Serwer zgłosił chwilowy problem (kod 4xx).",
        "The server reported a temporary problem (a 4xx code).",
    ),
    "diagnosis.TEMPORARY_FAILURE.hint": Msg(
        "Spróbuj ponownie później; kolejka ponowi wysyłkę sama. Częste błędy "
        "mogą oznaczać przekroczony limit wysyłki.",
        "Try again later; the queue retries by itself. Frequent ones may mean a "
        "sending limit was reached.",
    ),
    "diagnosis.CONNECTION_DROPPED": Msg(
        "Serwer przerwał rozmowę: zamknął połączenie albo przestał odpowiadać.",
        "The server broke off the conversation: it closed the connection or "
        "stopped answering.",
    ),
    "diagnosis.CONNECTION_DROPPED.hint": Msg(
        "Sprawdź, czy port i szyfrowanie pasują do siebie; jeśli tak, spróbuj "
        "ponownie, a przy powtórce wyślij transkrypcję do wsparcia.",
        "Check that port and encryption match; if they do, try again, and if it "
        "repeats send the transcript to support.",
    ),
    "diagnosis.SENDING_DISABLED": Msg(
        "Wysyłanie poczty jest wyłączone w ustawieniach konta.",
        "Sending mail is switched off in the account settings.",
    ),
    "diagnosis.SENDING_DISABLED.hint": Msg(
        "Ustaw „Włącz wysyłanie wiadomości email” na „Tak” i zapisz, gdy "
        "ustawienia będą gotowe; czekające wiadomości wyjdą wtedy same.",
        "Set “Enable sending email messages” to Yes and save once the "
        "settings are ready; the waiting messages then go out by themselves.",
    ),
}

_STAGES: dict[str, Msg] = {
    "diagnosis.stage.settings": Msg("Ustawienia", "Settings"),
    "diagnosis.stage.dns": Msg("DNS (nazwa serwera)", "DNS (server name)"),
    "diagnosis.stage.connect": Msg("Połączenie TCP", "TCP connect"),
    "diagnosis.stage.greeting": Msg("Powitanie serwera", "Server greeting"),
    "diagnosis.stage.ehlo": Msg("EHLO", "EHLO"),
    "diagnosis.stage.tls": Msg("Szyfrowanie TLS", "TLS encryption"),
    "diagnosis.stage.ehlo_tls": Msg("EHLO po TLS", "EHLO after TLS"),
    "diagnosis.stage.auth_mechs": Msg(
        "Oferowane metody logowania", "Offered login methods"
    ),
    "diagnosis.stage.auth": Msg("Logowanie (AUTH)", "Login (AUTH)"),
    "diagnosis.stage.mail_from": Msg("Nadawca (MAIL FROM)", "Sender (MAIL FROM)"),
    "diagnosis.stage.rcpt_to": Msg("Odbiorca (RCPT TO)", "Recipient (RCPT TO)"),
    "diagnosis.stage.data": Msg("Wysłanie wiadomości", "Sending the message"),
    "diagnosis.stage.quit": Msg("Zakończenie (QUIT)", "Closing (QUIT)"),
}

_PROVIDER: dict[str, Msg] = {
    "diagnosis.provider.wp_access": Msg(
        "Poczta WP: w ustawieniach poczty na wp.pl włącz „Aktywacja dostępu dla "
        "programów pocztowych”; bez tego serwer odrzuca logowanie z programów.",
        "WP mail: in the mail settings on wp.pl switch on access for mail "
        "programs (“Aktywacja dostępu dla programów pocztowych”); without it "
        "the server refuses logins from programs.",
    ),
    "diagnosis.provider.onet_login": Msg(
        "Onet Poczta: loginem jest cały adres e-mail (np. jan@onet.pl), "
        "nie sama część przed „@”.",
        "Onet mail: the login is the whole e-mail address (e.g. jan@onet.pl), "
        "not just the part before the “@”.",
    ),
    "diagnosis.provider.gmail_app_password": Msg(
        "Gmail: 1) w „Zarządzaj kontem Google” otwórz „Bezpieczeństwo” i włącz "
        "„Weryfikacja dwuetapowa”; 2) przejdź do „Hasła do aplikacji”; "
        "3) wpisz własną nazwę (np. Comarch BPM) i kliknij „Utwórz”; "
        "4) skopiuj 16 liter i wpisz je w polu „Hasło” (bez spacji).",
        "Gmail: 1) in Manage your Google Account open Security and turn on "
        "2-Step Verification; 2) go to App passwords; 3) enter a custom name "
        "(e.g. Comarch BPM) and click Create; 4) copy the 16 letters into the "
        "password field (without spaces).",
    ),
    "diagnosis.provider.office365_smtp_auth": Msg(
        "Office 365: administrator musi włączyć „Authenticated SMTP” dla tej "
        "skrzynki w centrum administracyjnym Microsoft 365 albo użyj OAuth2.",
        "Office 365: an administrator must enable Authenticated SMTP for this "
        "mailbox in the Microsoft 365 admin centre, or use OAuth2.",
    ),
    "diagnosis.provider.office365_send_as": Msg(
        "Office 365: konto logujące się musi mieć prawo „Wyślij jako” (SendAs) "
        "do adresu nadawcy.",
        "Office 365: the signed-in account needs the Send As right on the sender "
        "address.",
    ),
    "diagnosis.provider.port_request": Msg(
        "Port {port} nie jest domyślnie otwarty w chmurze (otwarte są 25, 465, "
        "587). Napisz na chmura.standard@comarch.pl z prośbą o otwarcie portu "
        "{port} do serwera {host}.",
        "Port {port} is not open in the cloud by default (25, 465 and 587 are). "
        "Write to chmura.standard@comarch.pl asking to open port {port} to "
        "server {host}.",
    ),
}

_UI: dict[str, Msg] = {
    "diagnosis.ui.ok": Msg("OK", "OK"),
    "diagnosis.ui.failed": Msg("BŁĄD", "FAILED"),
    "diagnosis.ui.skipped": Msg("pominięto", "skipped"),
    "diagnosis.ui.verdict": Msg(
        "Wynik: {code} na etapie {stage}", "Verdict: {code} at {stage}"
    ),
    "diagnosis.ui.verdict_ok": Msg("Wynik: OK", "Verdict: OK"),
    "diagnosis.ui.fix": Msg("Co zrobić: {hint}", "What to do: {hint}"),
    "diagnosis.ui.server_said": Msg(
        "Serwer odpowiedział: {reply}", "Server said: {reply}"
    ),
    "diagnosis.ui.tls": Msg(
        "TLS: {version}, {cipher}; certyfikat dla {subject}, wystawca {issuer}, "
        "ważny do {not_after}",
        "TLS: {version}, {cipher}; certificate for {subject}, issuer {issuer}, "
        "valid until {not_after}",
    ),
    "diagnosis.ui.transcript_saved": Msg(
        "Transkrypcję (bez haseł) zapisano w {path}.",
        "The transcript (without passwords) was saved to {path}.",
    ),
    "diagnosis.ui.transcript_unwritable": Msg(
        "Nie można zapisać transkrypcji w {path} ({reason}); wskaż inny plik "
        "w --transcript.",
        "Cannot write the transcript to {path} ({reason}); give another file "
        "to --transcript.",
    ),
    "diagnosis.ui.no_settings": Msg(
        "Brak zapisanych ustawień i nie podano --host.",
        "No saved settings and no --host given.",
    ),
    "diagnosis.ui.no_settings_hint": Msg(
        "Podaj serwer (np. --host smtp.wp.pl --port 465 --encryption ssl) albo "
        "zapisz ustawienia: „bpmnb sandbox --configure” (konto próbne) lub "
        "„bpmnb settings set”.",
        "Name a server (e.g. --host smtp.wp.pl --port 465 --encryption ssl) or "
        "save settings: “bpmnb sandbox --configure” (the trial account) or "
        "“bpmnb settings set”.",
    ),
    "diagnosis.ui.probe_bad_target": Msg(
        "„{target}” nie jest nazwą serwera, adresem IP ani adresem e-mail "
        "(port po dwukropku musi być liczbą od 1 do 65535).",
        "“{target}” is not a server name, an IP address or an e-mail address "
        "(a port after the colon must be a number from 1 to 65535).",
    ),
    "diagnosis.ui.probe_none": Msg(
        "Żadne z typowych połączeń z {target} nie zadziałało.",
        "None of the usual connections to {target} worked.",
    ),
    "diagnosis.ui.probe_row": Msg(
        "{host}:{port} {encryption} — logowanie: {mechs}{cloud}",
        "{host}:{port} {encryption} — login: {mechs}{cloud}",
    ),
    "diagnosis.ui.probe_cloud_closed": Msg(
        " (port zamknięty w chmurze: trzeba poprosić o otwarcie)",
        " (port closed in the cloud: ask for it to be opened)",
    ),
    "diagnosis.test_subject": Msg("Wiadomość testowa bpmnb", "bpmnb test message"),
    "diagnosis.test_body": Msg(
        "Ta wiadomość potwierdza, że konto poczty wychodzącej działa.",
        "This message confirms that the outgoing mail account works.",
    ),
    "diagnosis.ui.probe_no_auth": Msg("brak", "none"),
}

MESSAGES: dict[str, Msg] = {**_CODES, **_STAGES, **_PROVIDER, **_UI}
