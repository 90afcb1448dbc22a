"""User-facing text of the ui area (keys start with ``ui.``): the notebook
widgets and the ``bpmnb app`` command."""

from bpmnb.i18n import Msg

MESSAGES: dict[str, Msg] = {
    # Page and sections.
    "ui.title": Msg("Serwer pocztowy", "Mail server"),
    "ui.lang": Msg("Język", "Language"),
    "ui.section.advanced": Msg("Ustawienia zaawansowane", "Advanced settings"),
    "ui.section.presets": Msg("Dostawca poczty", "Mail provider"),
    "ui.section.test": Msg("Wyślij testową wiadomość email", "Send a test email"),
    "ui.section.check": Msg("Połączenie z serwerem", "Connection to the server"),
    "ui.section.sandbox": Msg(
        "Wiadomości odebrane przez piaskownicę", "Messages the sandbox received"
    ),
    # Saving.
    "ui.save": Msg("Zapisz", "Save"),
    "ui.saved": Msg("Zapisano.", "Saved."),
    "ui.save_blocked": Msg(
        "Nie zapisano: popraw pola oznaczone jako błędne.",
        "Not saved: correct the fields marked as wrong.",
    ),
    "ui.password_stored": Msg(
        "Hasło jest zapisane w bezpiecznym miejscu; puste pole go nie zmienia.",
        "A password is stored safely; leaving the box empty keeps it.",
    ),
    "ui.password_missing": Msg(
        "Hasło nie jest jeszcze zapisane.", "No password stored yet."
    ),
    "ui.client_secret_stored": Msg(
        "Klucz tajny klienta jest zapisany; puste pole go nie zmienia.",
        "A client secret is stored; leaving the box empty keeps it.",
    ),
    "ui.level.error": Msg("Błąd", "Error"),
    "ui.level.warning": Msg("Uwaga", "Warning"),
    "ui.error": Msg(
        "Coś poszło nie tak: {error}. Spróbuj ponownie; jeśli błąd wraca, "
        "uruchom notatnik od początku.",
        "Something went wrong: {error}. Try again; if it keeps happening, run "
        "the notebook from the top.",
    ),
    # Presets.
    "ui.preset.applied": Msg(
        "Wpisano ustawienia dostawcy {name}. Sprawdź je i uzupełnij hasło.",
        "Filled in the settings of {name}. Check them and add the password.",
    ),
    "ui.preset.applied_oauth": Msg(
        "Wpisano ustawienia dostawcy {name}. Logowanie idzie przez OAuth2: "
        "uzupełnij Tenant ID i Client ID w „Ustawieniach zaawansowanych” "
        "(notatnik 05 prowadzi przez rejestrację aplikacji).",
        "Filled in the settings of {name}. Sign-in uses OAuth2: fill in the "
        "Tenant ID and Client ID under the advanced settings (notebook 05 "
        "walks through the app registration).",
    ),
    "ui.preset.sandbox": Msg("Piaskownica", "Sandbox"),
    "ui.preset.sandbox_applied": Msg(
        "Ustawienia wskazują teraz piaskownicę na tym komputerze: wiadomości nie "
        "wyjdą do internetu. Jej hasło jest w pliku {path} (pole „password”).",
        "The settings now point at the sandbox on this computer: messages stay "
        "here. Its password is in the file {path} (the “password” field).",
    ),
    "ui.preset.sandbox_gone": Msg(
        "Piaskownica nie działa. Uruchom: bpmnb sandbox",
        "The sandbox is not running. Start it with: bpmnb sandbox",
    ),
    "ui.detect": Msg("Wykryj", "Detect"),
    "ui.detect.need_sender": Msg(
        "Najpierw wpisz adres w polu „Email (wychodzący)”.",
        "Type the address in “Outgoing email” first.",
    ),
    "ui.detect.found": Msg(
        "Wykryto: {name} ({host}, port {port}). Kliknij „Zastosuj”, aby wpisać.",
        "Detected: {name} ({host}, port {port}). Click “Apply” to fill it in.",
    ),
    "ui.detect.nothing": Msg(
        "Nie udało się rozpoznać serwera dla tego adresu; wpisz go ręcznie.",
        "Could not work out the server for this address; enter it by hand.",
    ),
    "ui.detect.apply": Msg("Zastosuj", "Apply"),
    # Test message.
    "ui.test.to": Msg("Adres email odbiorcy", "Recipient's email address"),
    "ui.test.subject": Msg("Temat", "Subject"),
    "ui.test.body": Msg("Treść wiadomości", "Message text"),
    "ui.test.attachment": Msg("Załącznik", "Attachment"),
    "ui.test.send": Msg("Wyślij wiadomość", "Send message"),
    "ui.test.need_to": Msg("Podaj adres odbiorcy.", "Enter the recipient's address."),
    "ui.test.queued": Msg(
        "Wiadomość przekazano do kolejki mailowej (numer {id}).",
        "The message was handed to the mail queue (number {id}).",
    ),
    "ui.test.sending": Msg("Trwa wysyłanie…", "Sending…"),
    "ui.test.sent": Msg(
        "Serwer przyjął wiadomość. Sprawdź skrzynkę odbiorcy: jej nadejście "
        "potwierdza, że konto działa.",
        "The server accepted the message. Check the recipient's mailbox: its "
        "arrival proves the account works.",
    ),
    "ui.test.failed": Msg("Nie wysłano: {message}", "Not sent: {message}"),
    "ui.test.hint": Msg("Co zrobić: {hint}", "What to do: {hint}"),
    "ui.test.cancelled": Msg("Wysyłkę anulowano.", "Sending was cancelled."),
    "ui.test.waiting": Msg(
        "Wiadomość nadal czeka w kolejce (stan: {status}). Jeśli doręcza ją "
        "pracownik kolejki, sprawdź, czy działa: bpmnb worker",
        "The message is still waiting in the queue (state: {status}). If the "
        "queue worker delivers it, check that it runs: bpmnb worker",
    ),
    # Connection check.
    "ui.check.button": Msg("Sprawdź połączenie", "Check the connection"),
    "ui.check.running": Msg("Sprawdzam połączenie…", "Checking the connection…"),
    "ui.check.ok": Msg(
        "Połączenie działa: serwer przyjąłby wiadomość.",
        "The connection works: the server would accept a message.",
    ),
    "ui.check.no_settings": Msg(
        "Nie ma czego sprawdzić: wypełnij i zapisz ustawienia konta.",
        "Nothing to check yet: fill in and save the account settings.",
    ),
    "ui.check.col.stage": Msg("Krok", "Step"),
    "ui.check.col.result": Msg("Wynik", "Result"),
    "ui.check.col.time": Msg("Czas", "Time"),
    # Sandbox view.
    "ui.sandbox.refresh": Msg("Odśwież", "Refresh"),
    "ui.sandbox.empty": Msg(
        "Piaskownica nie odebrała jeszcze żadnej wiadomości.",
        "The sandbox has not received any message yet.",
    ),
    "ui.sandbox.col.sender": Msg("Nadawca", "Sender"),
    "ui.sandbox.col.time": Msg("Odebrano", "Received"),
    "ui.sandbox.col.encryption": Msg("Szyfrowanie", "Encryption"),
    # The app command.
    "ui.app.url": Msg(
        "Formularz konta pocztowego: {url}  (Ctrl+C kończy)",
        "The mail account form: {url}  (Ctrl+C stops)",
    ),
    "ui.app.sandbox_started": Msg(
        "Brak zapisanych ustawień: uruchomiono piaskownicę i wpisano jej dane.",
        "No saved settings: started the sandbox and filled in its details.",
    ),
    "ui.app.no_notebook": Msg(
        "Nie znaleziono notatnika aplikacji {name}.",
        "The app notebook {name} was not found.",
    ),
    "ui.app.voila_failed": Msg(
        "Serwer strony (Voila) nie wystartował; szczegóły powyżej.",
        "The page server (Voila) did not start; details above.",
    ),
    "ui.app.sandbox_failed": Msg(
        "Piaskownica nie wystartowała; szczegóły powyżej.",
        "The sandbox did not start; details above.",
    ),
    "ui.app.port_busy": Msg(
        "Port {port} jest zajęty; wybierz inny opcją --port albo pomiń ją.",
        "Port {port} is taken; choose another with --port or leave it out.",
    ),
    "ui.app.stopped": Msg("Zatrzymano.", "Stopped."),
    # Walkthrough notebooks.
    "ui.walk.sandbox": Msg(
        "Wiadomość testowa pójdzie do piaskownicy na tym komputerze ({host}), "
        "z nadawcą i nazwą wyświetlaną z przykładu.",
        "The test message goes to the sandbox on this computer ({host}), with "
        "the example's sender and display name.",
    ),
    "ui.walk.sandbox_saved": Msg(
        "Wiadomość testowa pójdzie do piaskownicy na tym komputerze ({host}), "
        "z nadawcą i nazwą wyświetlaną zapisanego konta.",
        "The test message goes to the sandbox on this computer ({host}), with "
        "the saved account's sender and display name.",
    ),
    "ui.walk.saved": Msg(
        "Wiadomość testowa pójdzie przez Twoje zapisane konto ({host}).",
        "The test message goes through your saved account ({host}).",
    ),
    "ui.walk.nothing_saved": Msg(
        "Nie ma zapisanych ustawień ani działającej piaskownicy: zapisz "
        "ustawienia w notatniku 01_serwer_pocztowy albo uruchom: bpmnb sandbox",
        "There are no saved settings and no running sandbox: save the settings "
        "in notebook 01_serwer_pocztowy or run: bpmnb sandbox",
    ),
    "ui.walk.no_sandbox": Msg(
        "Piaskownica nie działa; sprawdź skrzynkę odbiorcy.",
        "No sandbox is running; check the recipient's mailbox.",
    ),
    "ui.walk.not_arrived": Msg(
        "Piaskownica nie odebrała wiadomości „{subject}”.",
        "The sandbox has not received “{subject}”.",
    ),
    "ui.walk.arrived": Msg(
        "Piaskownica odebrała „{subject}” od: {sender} (szyfrowanie: {encryption}).",
        "The sandbox received “{subject}” from: {sender} (encryption: {encryption}).",
    ),
    "ui.walk.no_findings": Msg("Reguły nie mają uwag.", "The rules have no remarks."),
    "ui.walk.login_local": Msg(
        "część adresu przed znakiem @", "the part of the address before the @"
    ),
    "ui.walk.login_address": Msg("cały adres email", "the whole email address"),
    "ui.walk.alternative": Msg("Także możliwe", "Also possible"),
    # The Gmail app-password checker.
    "ui.app_password.check": Msg("Sprawdź hasło", "Check the password"),
    "ui.app_password.ok": Msg(
        "Hasło aplikacji wygląda dobrze: {length} liter, spacje usunięte.",
        "The app password looks right: {length} letters, spaces removed.",
    ),
}
