"""User-facing text of the storage area (keys start with ``storage.``): the
settings file, the secret store and the ``bpmnb settings`` commands."""

from bpmnb.i18n import Msg

MESSAGES: dict[str, Msg] = {
    "storage.saved": Msg("Zapisano.", "Saved."),
    # Secret store.
    "storage.backend.file": Msg(
        "plik z uprawnieniami 0600: {path}", "file with mode 0600: {path}"
    ),
    "storage.backend.keyring": Msg(
        "systemowy magazyn haseł ({name})", "system keyring ({name})"
    ),
    "storage.backend_unknown": Msg(
        "Nieznana wartość {env}={value}; dozwolone: file, keyring.",
        "Unknown value {env}={value}; allowed: file, keyring.",
    ),
    "storage.keyring_failed": Msg(
        "Systemowy magazyn haseł odmówił działania ({name}) dla {service}.",
        "The system keyring failed ({name}) for {service}.",
    ),
    "storage.keyring_failed.hint": Msg(
        "Odblokuj magazyn haseł albo ustaw BPMNB_SECRET_BACKEND=file, aby używać "
        "pliku z uprawnieniami 0600.",
        "Unlock the keyring, or set BPMNB_SECRET_BACKEND=file to use a file with "
        "mode 0600.",
    ),
    "storage.secrets_exposed": Msg(
        "Plik z hasłami {file} mogą czytać inni użytkownicy (uprawnienia {mode}); "
        "nie zostanie użyty.",
        "Other users can read the secrets file {file} (mode {mode}); it will not "
        "be used.",
    ),
    "storage.secrets_exposed.hint": Msg(
        "Ogranicz dostęp poleceniem: chmod 600 {file} - a potem zmień hasło, "
        "bo mogło zostać odczytane.",
        "Restrict access with: chmod 600 {file} - then change the password, as "
        "it may have been read.",
    ),
    "storage.secrets_foreign": Msg(
        "Plik z hasłami {file} należy do innego użytkownika; nie zostanie użyty.",
        "The secrets file {file} belongs to another user; it will not be used.",
    ),
    "storage.secrets_unreadable": Msg(
        "Nie można odczytać pliku z hasłami {file}: {reason}.",
        "The secrets file {file} cannot be read: {reason}.",
    ),
    "storage.secrets_unwritable": Msg(
        "Nie można zapisać pliku z hasłami {file}: {reason}; hasło nie zostało "
        "zapisane.",
        "The secrets file {file} cannot be written: {reason}; the password was "
        "not stored.",
    ),
    "storage.secrets_corrupt": Msg(
        "Plik z hasłami {file} jest uszkodzony; usuń go i wpisz hasło ponownie.",
        "The secrets file {file} is damaged; delete it and enter the password again.",
    ),
    # Settings files.
    "storage.unreadable": Msg(
        "Nie można odczytać pliku {file}: {reason}.",
        "The file {file} cannot be read: {reason}.",
    ),
    "storage.not_found": Msg(
        "Nie ma pliku {file}; sprawdź ścieżkę.",
        "There is no file {file}; check the path.",
    ),
    "storage.unwritable": Msg(
        "Nie można zapisać pliku {file}: {reason}.",
        "The file {file} cannot be written: {reason}.",
    ),
    "storage.corrupt": Msg(
        "Plik ustawień {file} jest uszkodzony ({reason}); popraw go albo zapisz "
        "ustawienia od nowa - nic nie zostało nadpisane.",
        "The settings file {file} is damaged ({reason}); fix it or save the "
        "settings again - nothing was overwritten.",
    ),
    "storage.empty": Msg(
        "Plik ustawień {file} jest pusty (uszkodzony albo nigdy nie zapisany); "
        "popraw go albo zapisz ustawienia od nowa - nic nie zostało nadpisane.",
        "The settings file {file} is empty (damaged, or never written); fix it "
        "or save the settings again - nothing was overwritten.",
    ),
    "storage.too_large": Msg(
        "Plik {file} ma {size} bajtów, a plik ustawień ma ich kilkaset (limit "
        "{limit}); sprawdź, czy to właściwy plik.",
        "The file {file} is {size} bytes long, while a settings file is a few "
        "hundred (limit {limit}); check that this is the right file.",
    ),
    "storage.queue_unusable": Msg(
        "Kolejki wiadomości {file} nie da się użyć ({reason}).",
        "The mail queue {file} cannot be used ({reason}).",
    ),
    "storage.queue_unusable.hint": Msg(
        "Przenieś ten plik w inne miejsce (np. dopisz do nazwy .uszkodzony): "
        "przy następnym poleceniu powstanie nowa, pusta kolejka. Wiadomości ze "
        "starej nie zostaną wysłane.",
        "Move the file elsewhere (add .damaged to its name, say): the next "
        "command creates a new, empty queue. Messages in the old one will not "
        "be sent.",
    ),
    "storage.invalid_file": Msg(
        "Plik ustawień {file} zawiera błędy: {details}",
        "The settings file {file} has errors: {details}",
    ),
    "storage.password_in_file": Msg(
        "Plik ustawień {file} zawiera hasło, a hasło nie powinno się tam znaleźć. "
        "Wczytaj go poleceniem „bpmnb settings import”, które przeniesie hasło do "
        "bezpiecznego magazynu.",
        "The settings file {file} contains a password, which does not belong "
        "there. Load it with “bpmnb settings import”, which moves the password "
        "to the secure store.",
    ),
    "storage.unknown_format": Msg(
        "Nie wiem, jak czytać lub zapisać {file}; użyj rozszerzenia {formats}.",
        "Cannot tell how to read or write {file}; use the extension {formats}.",
    ),
    "storage.nothing_saved": Msg(
        "Nie zapisano jeszcze ustawień ({file}). Konto próbne ustawi "
        "„bpmnb sandbox --configure”; własne konto: „bpmnb settings set "
        "pole=wartość” albo „bpmnb settings import PLIK”.",
        "No settings have been saved yet ({file}). “bpmnb sandbox --configure” "
        "sets up the trial account; for your own account use “bpmnb settings "
        "set field=value” or “bpmnb settings import FILE”.",
    ),
    # bpmnb settings ...
    "storage.cli.exported": Msg(
        "Wyeksportowano ustawienia do {file} (bez haseł).",
        "Exported the settings to {file} (without secrets).",
    ),
    "storage.cli.imported": Msg(
        "Zaimportowano ustawienia z {file}.", "Imported the settings from {file}."
    ),
    "storage.cli.password_moved": Msg(
        "Hasło z pliku trafiło do: {backend}. Usuń je z {file}.",
        "The password from the file went to: {backend}. Remove it from {file}.",
    ),
    "storage.cli.password_in_argv": Msg(
        "Nie podawaj hasła w wierszu poleceń (widać je na liście procesów i w "
        "historii); użyj --password-stdin.",
        "Do not pass the password on the command line (it shows in the process "
        "list and the history); use --password-stdin.",
    ),
    "storage.cli.bad_pair": Msg(
        "„{pair}” nie ma postaci POLE=WARTOŚĆ.",
        "“{pair}” is not of the form FIELD=VALUE.",
    ),
    "storage.cli.empty_password": Msg(
        "Nie podano hasła na standardowym wejściu.",
        "No password was given on standard input.",
    ),
    "storage.cli.password_stored": Msg("zapisane: {backend}", "stored: {backend}"),
    "storage.cli.password_env": Msg(
        "z BPMNB_PASSWORD (zmienna środowiskowa)",
        "from BPMNB_PASSWORD (environment variable)",
    ),
    "storage.cli.password_none": Msg("nie zapisano", "not stored"),
    "storage.cli.valid": Msg("Ustawienia są poprawne.", "The settings are valid."),
    "storage.cli.valid_with_warnings": Msg(
        "Ustawienia można zapisać; ostrzeżenia: {count}.",
        "The settings can be saved; warnings: {count}.",
    ),
    "storage.cli.invalid": Msg(
        "Ustawienia zawierają błędy: {count}.", "The settings have errors: {count}."
    ),
    "storage.cli.secret_store": Msg("Magazyn haseł", "Secret store"),
    "storage.cli.empty_home": Msg(
        "pusta ścieżka; podaj katalog (czy zmienna w poleceniu jest ustawiona?)",
        "empty path; give a directory (is the variable in the command set?)",
    ),
    "storage.cli.os_error": Msg(
        "System operacyjny odmówił: {error}. Sprawdź ścieżkę i uprawnienia "
        "(katalog wskazuje --home lub BPMNB_HOME).",
        "The operating system refused: {error}. Check the path and the "
        "permissions (the directory is set by --home or BPMNB_HOME).",
    ),
}
