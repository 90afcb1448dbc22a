"""User-facing text of provider detection (keys start with ``detect.``).

``detect.source.*`` names where settings came from, ``detect.outcome.*``
says why a source gave no answer, ``detect.note.*`` warns about what was
found.
"""

from bpmnb.i18n import Msg

MESSAGES: dict[str, Msg] = {
    # Where the answer came from.
    "detect.source.catalogue": Msg(
        "wbudowany katalog dostawców", "the built-in provider catalogue"
    ),
    "detect.source.autoconfig": Msg(
        "autokonfiguracja na serwerze domeny", "the domain's own autoconfig file"
    ),
    "detect.source.ispdb": Msg(
        "baza dostawców Thunderbirda (ISPDB)", "Thunderbird's ISP database (ISPDB)"
    ),
    "detect.source.mx": Msg("rekordy MX domeny", "the domain's MX records"),
    # Labels of the command's output.
    "detect.label.source": Msg("Źródło", "Source"),
    "detect.label.provider": Msg("Dostawca", "Provider"),
    "detect.label.alternatives": Msg("Inne możliwości", "Other choices"),
    "detect.label.tried": Msg("Sprawdzone źródła", "Sources tried"),
    # Results.
    "detect.found": Msg(
        "Ustawienia dla {email} pochodzą ze źródła: {source}.",
        "The settings for {email} come from {source}.",
    ),
    "detect.not_found": Msg(
        "Nie udało się ustalić serwera poczty wychodzącej dla domeny {domain}. "
        "Wpisz dane z instrukcji swojego dostawcy poczty.",
        "No outgoing server could be found for the domain {domain}. Enter the "
        "details from your mail provider's instructions.",
    ),
    "detect.invalid_email": Msg(
        "„{email}” nie wygląda na adres email w postaci nazwa@domena.",
        "“{email}” does not look like an address of the form name@domain.",
    ),
    "detect.invalid_option": Msg(
        "Nieprawidłowa wartość opcji {option}: {value}",
        "Invalid value for the option {option}: {value}",
    ),
    # Why a source gave no answer.
    "detect.outcome.found": Msg("znaleziono", "found"),
    "detect.outcome.skipped": Msg(
        "pominięto (praca bez sieci)", "skipped (working offline)"
    ),
    "detect.outcome.not_found": Msg("brak wpisu", "no entry"),
    "detect.outcome.http_status": Msg(
        "serwer odpowiedział kodem {status}", "the server answered with status {status}"
    ),
    "detect.outcome.connect": Msg(
        "nie można się połączyć z {host}", "cannot connect to {host}"
    ),
    "detect.outcome.unresolved": Msg(
        "nazwa {host} nie istnieje w DNS", "the name {host} does not exist in DNS"
    ),
    "detect.outcome.timeout": Msg(
        "brak odpowiedzi w wyznaczonym czasie", "no answer within the time allowed"
    ),
    "detect.outcome.tls": Msg(
        "certyfikat HTTPS serwera {host} nie został przyjęty",
        "the HTTPS certificate of {host} was not accepted",
    ),
    "detect.outcome.plain_http": Msg(
        "odrzucono adres bez HTTPS (także po przekierowaniu)",
        "an address without HTTPS was refused (redirects included)",
    ),
    "detect.outcome.too_large": Msg(
        "plik jest większy niż {limit} bajtów", "the file is larger than {limit} bytes"
    ),
    "detect.outcome.unsafe_xml": Msg(
        "plik zawiera niebezpieczne konstrukcje XML (DTD lub encje)",
        "the file contains unsafe XML constructs (a DTD or entities)",
    ),
    "detect.outcome.invalid_xml": Msg(
        "plik nie jest poprawną konfiguracją clientConfig",
        "the file is not a valid clientConfig document",
    ),
    "detect.outcome.no_smtp": Msg(
        "plik nie opisuje serwera SMTP", "the file describes no SMTP server"
    ),
    "detect.outcome.dns": Msg(
        "zapytanie DNS o rekordy MX nie powiodło się",
        "the DNS query for MX records failed",
    ),
    "detect.outcome.no_mx": Msg(
        "domena nie ma rekordów MX", "the domain has no MX records"
    ),
    "detect.outcome.no_match": Msg(
        "serwery MX ({hosts}) nie należą do znanego dostawcy",
        "the MX servers ({hosts}) belong to no known provider",
    ),
    # Warnings about what was found.
    "detect.note.oauth_only": Msg(
        "Dostawca podaje dla tego serwera wyłącznie logowanie OAuth2, więc login "
        "i hasło mogą zostać odrzucone.",
        "The provider lists only OAuth2 sign-in for this server, so a login and "
        "password may be refused.",
    ),
    "detect.note.plain": Msg(
        "Ten serwer nie szyfruje połączenia: login i hasło popłyną jawnym tekstem.",
        "This server does not encrypt the connection: the login and password "
        "would travel as clear text.",
    ),
    "detect.note.mx": Msg(
        "Pocztę domeny przyjmuje {mx}, dlatego przyjęto ustawienia dostawcy "
        "{provider}.",
        "The domain's mail is received by {mx}, so the settings of {provider} "
        "were assumed.",
    ),
}
