"""User-facing text of the queue area (keys start with ``queue.``)."""

from bpmnb.i18n import Msg

MESSAGES: dict[str, Msg] = {
    # The test message itself.
    "queue.test.subject": Msg("Wiadomość testowa bpmnb", "bpmnb test message"),
    "queue.test.body": Msg(
        "Ta wiadomość sprawdza konto poczty wychodzącej skonfigurowane w bpmnb. "
        "Jeśli ją czytasz, wysyłanie działa i nie trzeba nic więcej robić.",
        "This message checks the outgoing mail account set up in bpmnb. "
        "If you are reading it, sending works and nothing else needs doing.",
    ),
    # What the user is told right after handing a message over.
    "queue.handed": Msg(
        "Wiadomość testowa (nr {id}) czeka w kolejce poczty wychodzącej. Jeżeli "
        "ustawienia konta są poprawne, trafi do skrzynki {to}.",
        "The test message (no. {id}) is waiting in the outgoing mail queue. If "
        "the account settings are right, it will reach the mailbox {to}.",
    ),
    "queue.handed.worker": Msg(
        "Doręczy ją osobny proces „bpmnb worker”; sprawdź, czy jest uruchomiony.",
        "A separate “bpmnb worker” process will deliver it; make sure it runs.",
    ),
    "queue.wait.timeout": Msg(
        "Nie doczekano się wyniku w ciągu {seconds} s; wiadomość nadal jest w "
        "kolejce (stan: {status}).",
        "No outcome within {seconds} s; the message is still in the queue "
        "(state: {status}).",
    ),
    "queue.wait.interrupted": Msg(
        "Przerwano czekanie. Wiadomość nr {id} nie przepadła: zostaje w "
        "kolejce (stan: {status}) i wyjdzie przy następnym uruchomieniu "
        "wysyłania (np. „bpmnb worker”).",
        "The wait was interrupted. Message no. {id} is not lost: it stays in "
        "the queue (state: {status}) and goes out the next time sending runs "
        "(for example “bpmnb worker”).",
    ),
    # Where a message stands (one sentence each).
    "queue.status.queued": Msg(
        "Czeka w kolejce na wysłanie.", "Waiting in the queue to be sent."
    ),
    "queue.status.sending": Msg("Właśnie trwa wysyłanie.", "Being sent right now."),
    "queue.status.sent": Msg(
        "Serwer przyjął wiadomość do doręczenia.",
        "The server accepted the message for delivery.",
    ),
    "queue.status.sent_partly": Msg(
        "Serwer przyjął wiadomość, ale odrzucił część odbiorców; do nich "
        "nie dotrze (lista i przyczyna poniżej).",
        "The server accepted the message but refused some recipients; it "
        "will not reach them (who and why below).",
    ),
    "queue.status.failed": Msg(
        "Nie udało się wysłać; przyczyna i wskazówka są poniżej.",
        "Sending failed; the reason and a hint follow.",
    ),
    "queue.status.cancelled": Msg(
        "Wysyłkę anulowano ręcznie.", "Sending was cancelled by hand."
    ),
    # Short status labels for tables.
    "queue.label.queued": Msg("w kolejce", "queued"),
    "queue.label.sending": Msg("wysyłanie", "sending"),
    "queue.label.sent": Msg("wysłana", "sent"),
    "queue.label.failed": Msg("błąd", "failed"),
    "queue.label.cancelled": Msg("anulowana", "cancelled"),
    # Why a queued message is held back without using an attempt.
    "queue.held.sending_disabled": Msg(
        "Wstrzymana: w ustawieniach konta „Włącz wysyłanie” ma wartość Nie. "
        "Wiadomość poczeka w kolejce, aż wysyłanie zostanie włączone.",
        "Held: “Enable sending” is set to No in the account settings. The "
        "message will wait in the queue until sending is switched on.",
    ),
    "queue.held.account_error": Msg(
        "Wstrzymana: serwer odrzucił samo konto (logowanie, szyfrowanie lub "
        "certyfikat; przyczyna i wskazówka poniżej). Wiadomość nie jest "
        "winna: poczeka w kolejce i wyjdzie, gdy ustawienia konta zostaną "
        "poprawione i zapisane.",
        "Held: the server refused the account itself (sign-in, encryption or "
        "certificate; the reason and a hint follow). The message is not at "
        "fault: it waits in the queue and goes out once the account settings "
        "are corrected and saved.",
    ),
    "queue.held.daily_cap": Msg(
        "Wstrzymana: wyczerpano dobowy limit wiadomości tego konta; pójdzie, "
        "gdy limit się odnowi.",
        "Held: the account's daily message limit is used up; it will go once "
        "the limit frees up.",
    ),
    "queue.held.rate": Msg(
        "Wstrzymana na chwilę: osiągnięto dozwoloną liczbę wiadomości na minutę.",
        "Held briefly: the allowed number of messages per minute was reached.",
    ),
    "queue.held.no_settings": Msg(
        "Wstrzymana: nie zapisano jeszcze ustawień konta pocztowego.",
        "Held: no mail account settings have been saved yet.",
    ),
    # CLI feedback.
    "queue.cli.not_found": Msg(
        "W kolejce nie ma wiadomości nr {id}.",
        "There is no message no. {id} in the queue.",
    ),
    "queue.cli.retried": Msg(
        "Wiadomość nr {id} wróciła do kolejki i zostanie wysłana ponownie.",
        "Message no. {id} is back in the queue and will be sent again.",
    ),
    "queue.cli.not_retriable": Msg(
        "Ponowić można tylko wiadomość z błędem lub anulowaną; nr {id} ma stan "
        "„{status}”.",
        "Only a failed or cancelled message can be retried; no. {id} is “{status}”.",
    ),
    "queue.cli.cancelled": Msg(
        "Anulowano wysyłkę wiadomości nr {id}.",
        "Sending of message no. {id} was cancelled.",
    ),
    "queue.cli.not_cancellable": Msg(
        "Nie można anulować wiadomości nr {id} w stanie „{status}”.",
        "Message no. {id} cannot be cancelled while “{status}”.",
    ),
    "queue.cli.purged": Msg(
        "Usunięto z kolejki zakończone wiadomości: {count}.",
        "Finished messages removed from the queue: {count}.",
    ),
    "queue.cli.empty": Msg("Kolejka jest pusta.", "The queue is empty."),
    "queue.cli.worker_started": Msg(
        "Proces wysyłający działa (kolejka: {path}). Zatrzymasz go klawiszami "
        "Ctrl+C lub sygnałem SIGTERM.",
        "The sending process is running (queue: {path}). Stop it with Ctrl+C "
        "or SIGTERM.",
    ),
    "queue.cli.worker_stopped": Msg(
        "Proces wysyłający zakończył pracę: wysłane {sent}, ponawiane {retried}, "
        "z błędem {failed}.",
        "The sending process has stopped: sent {sent}, retrying {retried}, "
        "failed {failed}.",
    ),
    "queue.col.id": Msg("Nr", "No."),
    "queue.col.status": Msg("Stan", "Status"),
    "queue.col.attempts": Msg("Próby", "Attempts"),
    "queue.col.subject": Msg("Temat", "Subject"),
    "queue.col.recipients": Msg("Odbiorcy", "Recipients"),
    "queue.col.error": Msg("Ostatni błąd", "Last error"),
    "queue.col.hint": Msg("Co zrobić", "What to do"),
    "queue.col.next": Msg("Następna próba", "Next attempt"),
    "queue.col.transcript": Msg("Przebieg próby nr {n}", "Transcript of attempt {n}"),
    "queue.button.retry": Msg("Ponów wysyłkę", "Retry sending"),
    "queue.button.refresh": Msg("Odśwież", "Refresh"),
}
