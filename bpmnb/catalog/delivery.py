"""User-facing text of the delivery area (keys start with ``delivery.``)."""

from bpmnb.i18n import Msg

MESSAGES: dict[str, Msg] = {
    # Building a message (bpmnb.message); {field} names the offending part.
    "delivery.header_injection": Msg(
        "Pole „{field}” zawiera znak końca wiersza lub znak NUL. Taka wartość "
        "mogłaby dopisać do wiadomości cudze nagłówki, więc nic nie wysłano. "
        "Usuń te znaki i spróbuj ponownie.",
        "The field “{field}” contains a line break or a NUL character. Such a "
        "value could add foreign headers to the message, so nothing was sent. "
        "Remove those characters and try again.",
    ),
    "delivery.control_character": Msg(
        "Pole „{field}” zawiera niewidoczny znak sterujący (np. z kopiowania "
        "z innego programu). W nagłówku wiadomości taki znak jest niedozwolony, "
        "więc nic nie wysłano. Wpisz tę wartość ponownie.",
        "The field “{field}” contains an invisible control character (often "
        "from copying out of another program). Such a character is not allowed "
        "in a message header, so nothing was sent. Type the value again.",
    ),
    "delivery.invalid_address": Msg(
        "„{address}” w polu „{field}” nie jest poprawnym adresem e-mail.",
        "“{address}” in the field “{field}” is not a valid e-mail address.",
    ),
    "delivery.no_recipient": Msg(
        "Podaj co najmniej jednego adresata.",
        "Give at least one recipient.",
    ),
    "delivery.attachment_too_large": Msg(
        "Załączniki mają razem {size} MB, a dopuszczalne jest {limit} MB. "
        "Wyślij mniejsze pliki albo udostępnij je w inny sposób.",
        "The attachments add up to {size} MB; at most {limit} MB is allowed. "
        "Send smaller files or share them another way.",
    ),
    "delivery.attachment_not_file": Msg(
        "{file} nie jest zwykłym plikiem (to urządzenie, potok lub katalog); "
        "załącz plik z dysku.",
        "{file} is not a regular file (a device, a pipe or a directory); "
        "attach a file from disk.",
    ),
    # The sandbox command (bpmnb sandbox).
    "delivery.sandbox.started": Msg(
        "Piaskownica SMTP działa. Zatrzymasz ją klawiszami Ctrl+C.",
        "The SMTP sandbox is running. Stop it with Ctrl+C.",
    ),
    "delivery.sandbox.host": Msg("Serwer", "Host"),
    "delivery.sandbox.starttls_port": Msg("Port (STARTTLS)", "Port (STARTTLS)"),
    "delivery.sandbox.tls_port": Msg("Port (SSL/TLS)", "Port (SSL/TLS)"),
    "delivery.sandbox.login": Msg("Login", "Login"),
    "delivery.sandbox.password": Msg("Hasło", "Password"),
    "delivery.sandbox.ca_file": Msg("Certyfikat CA", "CA certificate"),
    "delivery.sandbox.maildir": Msg("Odebrane wiadomości", "Received messages"),
    "delivery.sandbox.configured": Msg(
        "Zapisano ustawienia konta wskazujące na piaskownicę.",
        "Account settings pointing at the sandbox have been saved.",
    ),
    "delivery.sandbox.stopped": Msg(
        "Piaskownica SMTP została zatrzymana.",
        "The SMTP sandbox has stopped.",
    ),
    "delivery.sandbox.port_busy": Msg(
        "Nie można uruchomić piaskownicy na porcie {port}: {reason}",
        "The sandbox cannot listen on port {port}: {reason}",
    ),
}
