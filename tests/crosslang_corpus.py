"""A corpus for finding one problem across languages: 12 problems, 5 customer mails each, en, nb and ru.

Each problem has one article with variants in one to three languages (some
only in one: an English-only article asked about in Russian). Customers write
in their own words, not the article's: greetings, signatures, typos, product
names and error codes, and often in a language the article has no variant in.
Several problems share a domain (two mail problems, two account problems, two
billing problems) so that finding the right one means telling them apart.

All names, companies and numbers are made up; addresses end in .example.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Variant:
    language: str
    title: str
    issue: str
    resolution: str
    cause: str
    keywords: tuple[str, ...]


@dataclass(frozen=True)
class Problem:
    key: str
    variants: tuple[Variant, ...]


@dataclass(frozen=True)
class Mail:
    problem: str
    language: str
    sender: str
    subject: str
    body: str


PROBLEMS = (
    Problem("password-reset-mail", (
        Variant("en", "Password reset email never arrives",
                "The customer asks for a new password on the sign-in page, but the reset email does not come, "
                "not even in the junk folder.",
                "Check the address on the account; add noreply@patrol.example to the safe senders; send the reset "
                "link again from Admin > Users > Send reset link. The link is valid for 30 minutes.",
                "The company mail filter quarantines mail from noreply@patrol.example.",
                ("password", "reset", "email", "spam")),)),
    Problem("printer-blank-toner", (
        Variant("en", "Printer prints blank pages after a toner change",
                "Right after a new toner cartridge was put in, the printer feeds paper but the pages come out blank.",
                "Open the front cover, take the cartridge out and pull the orange sealing strip off completely, "
                "then print a test page.",
                "The sealing strip of the new toner cartridge was left on.",
                ("printer", "toner", "blank pages")),
        Variant("nb", "Skriveren skriver ut blanke sider etter bytte av toner",
                "Etter at ny tonerkassett ble satt i, trekker skriveren inn papir, men arkene blir helt blanke.",
                "Åpne frontdekselet, ta ut kassetten og trekk den oransje forseglingsstripen helt ut. "
                "Skriv ut en testside.",
                "Forseglingsstripen på den nye toneren var ikke fjernet.",
                ("skriver", "toner", "blanke sider")))),
    Problem("vpn-certificate", (
        Variant("ru", "VPN не подключается: истёк сертификат",
                "FortiClient VPN перестал подключаться, выдаёт ошибку сертификата -8 или «certificate expired».",
                "Удалите старый сертификат из хранилища, получите новый на портале certs.patrol.example и "
                "импортируйте его в FortiClient, затем переподключитесь.",
                "Личный сертификат VPN действует один год и истёк.",
                ("vpn", "сертификат", "forticlient")),)),
    Problem("invoice-charged-twice", (
        Variant("nb", "Kortet er belastet to ganger for samme faktura",
                "Kunden ser to like trekk på kortet for samme faktura etter å ha betalt i kundeportalen.",
                "Sjekk betalingsloggen i Billing; det andre trekket er en reservasjon som frigis automatisk "
                "innen 5 virkedager. Er den trukket, refunder den fra Billing > Refusjon.",
                "Betalingen ble sendt to ganger fordi kunden trykket Betal på nytt mens siden lastet.",
                ("faktura", "betaling", "dobbelt trekk", "refusjon")),)),
    Problem("calendar-phone-sync", (
        Variant("en", "Outlook calendar does not sync to the phone",
                "New meetings made in Outlook do not show up in the calendar on the iPhone or Android phone.",
                "Remove the Exchange account from the phone and add it again with the Outlook app; make sure "
                "Calendars is switched on under the account's sync settings.",
                "The phone's mail app lost its Exchange ActiveSync partnership after the password change.",
                ("outlook", "calendar", "sync", "iphone")),
        Variant("ru", "Календарь Outlook не синхронизируется с телефоном",
                "Новые встречи из Outlook не появляются в календаре на iPhone или Android.",
                "Удалите учётную запись Exchange с телефона и добавьте её заново через приложение Outlook; "
                "проверьте, что синхронизация календарей включена.",
                "После смены пароля телефон потерял связь Exchange ActiveSync.",
                ("outlook", "календарь", "синхронизация")))),
    Problem("scanner-wrong-folder", (
        Variant("nb", "Skanneren lagrer i feil mappe",
                "Skannede dokumenter fra multifunksjonsmaskinen havner ikke i brukerens skannemappe på fellesdisken.",
                "Rett stien i skanneprofilen på maskinen til \\\\fil01\\skann\\<brukernavn> og gi brukeren "
                "skrivetilgang til mappen.",
                "Skanneprofilen pekte på den gamle filserveren etter flyttingen.",
                ("skanner", "mappe", "skanning")),)),
    Problem("account-locked-2fa", (
        Variant("en", "Account locked: the two-factor code by SMS never comes",
                "The customer cannot sign in because the SMS with the 2FA code does not arrive, and after five "
                "tries the account is locked.",
                "Unlock the account in Admin > Users, check the phone number, and switch the customer to the "
                "authenticator app; SMS codes to some foreign numbers are delayed.",
                "The SMS gateway drops messages to numbers without the country code.",
                ("2fa", "sms", "locked", "login")),)),
    Problem("export-encoding", (
        Variant("ru", "Экспорт в CSV: в Excel вместо букв кракозябры",
                "После выгрузки отчёта в CSV и открытия в Excel русские буквы превращаются в непонятные символы.",
                "Откройте файл через Данные > Из текста/CSV и выберите кодировку 65001: Юникод (UTF-8), "
                "или включите в настройках экспорта «UTF-8 с BOM».",
                "Excel открывает CSV без BOM в кодировке Windows-1251.",
                ("csv", "excel", "кодировка", "экспорт")),)),
    Problem("mailbox-full", (
        Variant("en", "Mailbox full: mail bounces with 552 quota exceeded",
                "Senders get a bounce '552 5.2.2 mailbox full' and the customer receives no new mail.",
                "Empty Deleted Items, archive old mail, or raise the quota in Admin > Mailboxes.",
                "The mailbox reached its 10 GB storage quota.",
                ("mailbox", "quota", "552", "storage")),
        Variant("nb", "Postkassen er full: e-post avvises med 552",
                "Avsendere får feilmelding '552 5.2.2 mailbox full', og kunden får ingen ny e-post.",
                "Tøm Slettede elementer, arkiver gammel e-post eller øk kvoten i Admin > Postkasser.",
                "Postkassen har nådd kvoten på 10 GB.",
                ("postkasse", "kvote", "552")),
        Variant("ru", "Почтовый ящик переполнен: письма возвращаются с ошибкой 552",
                "Отправители получают ответ «552 5.2.2 mailbox full», новые письма не приходят.",
                "Очистите «Удалённые», заархивируйте старую почту или увеличьте квоту в Admin > Mailboxes.",
                "Ящик достиг квоты 10 ГБ.",
                ("почтовый ящик", "квота", "552")))),
    Problem("laptop-wifi-drops", (
        Variant("en", "Laptop Wi-Fi keeps disconnecting",
                "The laptop drops the office Wi-Fi every few minutes while other devices stay connected.",
                "Update the Intel wireless driver to 23.x and turn off 'Allow the computer to turn off this "
                "device to save power' in Device Manager.",
                "Power saving on the wireless adapter with the old driver.",
                ("wifi", "laptop", "driver", "disconnect")),)),
    Problem("attachment-too-large", (
        Variant("nb", "E-post med stort vedlegg kommer i retur: 552 5.3.4",
                "E-post med vedlegg over 25 MB avvises med '552 5.3.4 Message size exceeds fixed limit'.",
                "Del filen som lenke fra OneDrive eller fellesområdet i stedet for som vedlegg.",
                "Grensen for meldingsstørrelse er 25 MB.",
                ("vedlegg", "størrelse", "5.3.4")),)),
    Problem("subscription-cancel", (
        Variant("ru", "Как отменить подписку и вернуть деньги",
                "Клиент хочет отказаться от подписки и получить возврат за неиспользованный период.",
                "Отмените подписку в Настройки > Тариф; возврат за оставшиеся месяцы оформляется в Billing "
                "и приходит на карту за 5–10 дней.",
                "Годовая подписка продлилась автоматически.",
                ("подписка", "отмена", "возврат")),
        Variant("en", "Cancel a subscription and get a refund",
                "The customer wants to cancel the subscription and get money back for the unused months.",
                "Cancel under Settings > Plan; refund the remaining months from Billing; it reaches the card "
                "in 5-10 days.",
                "The yearly subscription renewed automatically.",
                ("subscription", "cancel", "refund")))),
)


def _m(problem: str, language: str, sender: str, subject: str, body: str) -> Mail:
    return Mail(problem, language, sender, subject, body)


MAILS = (
    # password-reset-mail: English article; asked in English and Russian.
    _m("password-reset-mail", "en", "Tom Baker <tom@greenfield.example>", "Reset link not coming",
       "Hi,\n\nI clicked 'forgot password' three times now and no email shows up. Checked spam too. "
       "Can you help? I need to get in before the meeting.\n\nCheers,\nTom"),
    _m("password-reset-mail", "en", "Priya Shah <priya@northwind.example>", "Cant reset my password",
       "Hello support,\nthe password reset mail never arrives in my inbox. My username is priya.shah.\n\n"
       "Regards\nPriya Shah\nNorthwind Traders"),
    _m("password-reset-mail", "ru", "Ольга Смирнова <olga@sever.example>", "Не приходит письмо для сброса пароля",
       "Здравствуйте!\n\nЗабыла пароль, нажимаю «сбросить», но письмо так и не приходит, в спаме тоже нет. "
       "Что делать?\n\nС уважением,\nОльга"),
    _m("password-reset-mail", "ru", "Игорь Петров <igor@volga.example>", "сброс пароля",
       "Добрый день. Уже час жду письмо со ссылкой для восстановления пароля, почта пустая. "
       "Помогите пожалуйста войти.\n--\nИгорь Петров, ООО Волга"),
    _m("password-reset-mail", "ru", "Анна Ким <anna@baltika.example>", "Письмо с новым паролем не пришло",
       "Привет! Не могу зайти в аккаунт, письмо для сброса пароля не доходит. Адрес anna@baltika.example.\n"
       "Спасибо, Анна"),

    # printer-blank-toner: English and Norwegian variants; asked in nb, en and ru.
    _m("printer-blank-toner", "nb", "Kari Hansen <kari@fjord.example>", "Skriveren gir bare blanke ark",
       "Hei!\n\nVi byttet toner i skriveren i 2. etasje i dag, og nå kommer arkene ut helt hvite. "
       "Ingen feilmelding.\n\nMvh\nKari Hansen\nFjord Regnskap AS"),
    _m("printer-blank-toner", "nb", "Ole Berg <ole@nordlys.example>", "Tomme sider fra printeren",
       "Hei, etter tonerbytte skriver HP-skriveren ut tomme sider. Har prøvd å starte den på nytt.\nOle"),
    _m("printer-blank-toner", "en", "Greg Holt <greg@brightwell.example>", "printer giving empty pages",
       "Hi team,\nsince we put the new toner in the HP LaserJet everything prints blank, paper goes through "
       "fine.\n\nThanks\nGreg Holt, Office Manager"),
    _m("printer-blank-toner", "en", "Sue Lin <sue@harbour.example>", "Blank sheets after new cartridge",
       "Hello, our printer only gives us blank pages since the cartridge was replaced this morning. "
       "Any idea?\nSue"),
    _m("printer-blank-toner", "ru", "Дмитрий Орлов <d.orlov@ural.example>", "Принтер печатает пустые листы",
       "Добрый день!\nПоменяли картридж в принтере HP, теперь печатает пустые страницы, вообще ничего нет. "
       "\nДмитрий Орлов\nтел. +7 343 555-12-12"),

    # vpn-certificate: Russian article only; asked in Russian and English.
    _m("vpn-certificate", "ru", "Сергей Волков <volkov@neva.example>", "Не работает VPN",
       "Здравствуйте, с утра не подключается FortiClient, пишет ошибка сертификата -8. Работаю из дома.\n"
       "Сергей"),
    _m("vpn-certificate", "ru", "Мария Лебедева <maria@kama.example>", "впн не подключается",
       "Добрый день! VPN выдаёт «certificate expired» и не соединяется. Вчера всё работало.\n"
       "Мария Лебедева, бухгалтерия"),
    _m("vpn-certificate", "ru", "Павел Зайцев <pavel@don.example>", "Ошибка сертификата в VPN",
       "Коллеги, у меня истёк сертификат для VPN, как получить новый? Подключиться не могу.\nПавел"),
    _m("vpn-certificate", "en", "Mark Evans <mark@thames.example>", "VPN won't connect - certificate expired",
       "Hi,\nFortiClient says my certificate has expired and the VPN connection fails. I'm travelling this "
       "week and need access.\nBest, Mark Evans"),
    _m("vpn-certificate", "en", "Julia Roberts <julia@mersey.example>", "Cannot connect to vpn",
       "Hello, VPN stopped connecting today, error -8 about the certificate. What do I do?\nJulia"),

    # invoice-charged-twice: Norwegian article only; asked in nb and ru.
    _m("invoice-charged-twice", "nb", "Per Olsen <per@vest.example>", "Trukket dobbelt for faktura 2024-118",
       "Hei,\n\nJeg betalte faktura 2024-118 i kundeportalen, men kortet er belastet to ganger. "
       "Kan dere refundere det ene trekket?\n\nHilsen Per Olsen"),
    _m("invoice-charged-twice", "nb", "Ingrid Dahl <ingrid@sor.example>", "Dobbel betaling",
       "Hei! Vi ser to like betalinger for samme faktura på kontoutskriften. Hva har skjedd?\nIngrid Dahl"),
    _m("invoice-charged-twice", "nb", "Lars Moe <lars@midt.example>", "Betalt to ganger?",
       "Hei, siden hang da jeg trykket Betal, så jeg trykket igjen. Nå er pengene trukket dobbelt.\nLars"),
    _m("invoice-charged-twice", "ru", "Елена Соколова <elena@oka.example>", "Списали оплату дважды",
       "Здравствуйте! Оплатила счёт картой, а деньги списали два раза. Верните, пожалуйста, лишний платёж.\n"
       "Елена Соколова"),
    _m("invoice-charged-twice", "ru", "Алексей Новиков <alexey@lena.example>", "Двойное списание по счету",
       "Добрый день, по счету 2024-131 прошло два одинаковых платежа. Прошу сделать возврат.\nАлексей"),

    # calendar-phone-sync: English and Russian variants; asked in en, ru and nb.
    _m("calendar-phone-sync", "en", "Emma Clark <emma@avon.example>", "Meetings not showing on my iPhone",
       "Hi, new meetings I create in Outlook don't show up in the iPhone calendar anymore. Mail works fine.\n"
       "Emma"),
    _m("calendar-phone-sync", "en", "David Hughes <david@severn.example>", "calendar sync broken",
       "Hello,\nmy Android phone stopped syncing the Outlook calender after I changed my password last week.\n"
       "David Hughes"),
    _m("calendar-phone-sync", "ru", "Наталья Козлова <natalia@vyatka.example>", "Календарь на телефоне не обновляется",
       "Добрый день! Встречи из Outlook не появляются в календаре на телефоне. Почта при этом приходит.\n"
       "Наталья"),
    _m("calendar-phone-sync", "ru", "Роман Морозов <roman@irtysh.example>", "Нет синхронизации календаря",
       "Здравствуйте, после смены пароля айфон перестал синхронизировать календарь Outlook.\nРоман Морозов"),
    _m("calendar-phone-sync", "nb", "Silje Lund <silje@tromso.example>", "Kalenderen synkroniserer ikke til mobilen",
       "Hei! Møter jeg legger inn i Outlook dukker ikke opp i kalenderen på iPhonen min.\nMvh Silje"),

    # scanner-wrong-folder: Norwegian only, asked in Norwegian only.
    _m("scanner-wrong-folder", "nb", "Nina Berg <nina@kyst.example>", "Finner ikke skannede dokumenter",
       "Hei,\nnår jeg skanner på kopimaskinen havner ikke filene i skannemappen min lenger.\nNina"),
    _m("scanner-wrong-folder", "nb", "Tor Vik <tor@fjell.example>", "Skanning går til feil mappe",
       "Hei! Skanneren lagrer dokumentene i en annen mappe enn før. Hvor blir de av?\nTor Vik"),
    _m("scanner-wrong-folder", "nb", "Eva Strand <eva@elv.example>", "skannemappe tom",
       "Hei, etter flyttingen av filserveren er skannemappen min tom når jeg skanner.\nHilsen Eva Strand"),
    _m("scanner-wrong-folder", "nb", "Jon Aas <jon@dal.example>", "Skannet fil forsvinner",
       "Hallo. Jeg skanner fra multifunksjonsmaskinen, men finner ikke dokumentet i mappen på fellesdisken.\nJon"),
    _m("scanner-wrong-folder", "nb", "Mona Lie <mona@li.example>", "Skanneren sender til gammel mappe",
       "Hei, skanneren ser ut til å lagre til feil mappe, ikke til \\\\fil01\\skann. Kan dere sjekke?\nMona"),

    # account-locked-2fa: English only; asked in en and nb.
    _m("account-locked-2fa", "en", "Paul Wright <paul@kent.example>", "Locked out - no SMS code",
       "Hi,\nI'm not getting the 2FA text message and now my account says it's locked. Phone is +44 7700 900123.\n"
       "Paul"),
    _m("account-locked-2fa", "en", "Anna Scott <anna@essex.example>", "Two factor code never arrives",
       "Hello, the SMS with the login code never comes, so I can't sign in. Tried five times.\nAnna Scott"),
    _m("account-locked-2fa", "en", "Ben Carter <ben@devon.example>", "account blocked after sms",
       "hey, my account got blocked after the verification code didnt arrive by sms. please unlock\nBen"),
    _m("account-locked-2fa", "nb", "Hilde Nygaard <hilde@bergen.example>", "Får ikke SMS-kode, kontoen er låst",
       "Hei,\njeg får ikke engangskoden på SMS når jeg logger inn, og nå er kontoen låst.\nMvh Hilde Nygaard"),
    _m("account-locked-2fa", "nb", "Knut Haug <knut@stavanger.example>", "Kontoen sperret",
       "Hei! Koden på SMS kommer aldri, og etter flere forsøk er kontoen min sperret. Kan dere låse opp?\nKnut"),

    # export-encoding: Russian only; asked in ru and en.
    _m("export-encoding", "ru", "Татьяна Белова <tatiana@tver.example>", "Кракозябры в CSV",
       "Здравствуйте, выгружаю отчет в CSV, открываю в Excel — вместо русских букв кракозябры.\nТатьяна"),
    _m("export-encoding", "ru", "Николай Попов <nikolay@tula.example>", "Неправильная кодировка при экспорте",
       "Добрый день. При экспорте отчёта в эксель все названия нечитаемые, какие-то символы. Помогите.\nНиколай"),
    _m("export-encoding", "ru", "Ирина Васильева <irina@pskov.example>", "Отчет в Excel с иероглифами",
       "Привет! Скачала отчет CSV, а в Excel вместо текста иероглифы. Раньше было нормально.\nИрина"),
    _m("export-encoding", "ru", "Андрей Фёдоров <andrey@kursk.example>", "csv нечитаемый",
       "Коллеги, выгрузка CSV открывается в Excel с непонятными символами вместо кириллицы.\nАндрей Фёдоров"),
    _m("export-encoding", "en", "Laura King <laura@york.example>", "Garbled characters in exported CSV",
       "Hi, when I open the CSV export in Excel the Russian customer names are gibberish symbols.\nLaura King"),

    # mailbox-full: all three languages; asked in all three.
    _m("mailbox-full", "en", "Chris Green <chris@bath.example>", "People say their emails bounce",
       "Hi, clients tell me their mail to me bounces with 552 mailbox full. I haven't had new mail since Monday.\n"
       "Chris"),
    _m("mailbox-full", "nb", "Geir Solberg <geir@molde.example>", "Innboksen full?",
       "Hei, kunder sier at e-posten deres til meg blir avvist med 552. Jeg får ikke ny e-post.\nGeir"),
    _m("mailbox-full", "ru", "Ольга Иванова <olga.i@perm.example>", "Письма не доходят, ящик переполнен",
       "Здравствуйте! Мне пишут, что письма возвращаются с ошибкой 552 mailbox full. Новые не приходят.\nОльга"),
    _m("mailbox-full", "en", "Helen Ward <helen@dover.example>", "Mailbox quota exceeded",
       "Hello, I get a warning that my mailbox storage is full and mail is rejected. Can you raise the quota?\n"
       "Helen Ward"),
    _m("mailbox-full", "ru", "Виктор Смирнов <viktor@samara.example>", "Квота почты",
       "Добрый день, почтовый ящик переполнен, входящие письма отклоняются. Можно увеличить квоту?\nВиктор"),

    # laptop-wifi-drops: English only; asked in en, ru and nb.
    _m("laptop-wifi-drops", "en", "Sam Turner <sam@leeds.example>", "wifi keeps dropping",
       "Hi, my laptop keeps disconnecting from the office wifi every 5 minutes, my phone is fine.\nSam"),
    _m("laptop-wifi-drops", "en", "Rachel Hill <rachel@hull.example>", "Laptop loses Wi-Fi connection",
       "Hello,\nmy Dell laptop loses the wireless network all the time since last week. Very annoying.\n"
       "Rachel Hill"),
    _m("laptop-wifi-drops", "ru", "Ксения Лаптева <ksenia@omsk.example>", "Ноутбук теряет вайфай",
       "Здравствуйте, ноутбук постоянно отключается от Wi-Fi в офисе, телефон при этом работает.\nКсения"),
    _m("laptop-wifi-drops", "ru", "Олег Гусев <oleg@ufa.example>", "Обрывается wifi на ноуте",
       "Добрый день! У меня на ноутбуке каждые пару минут разрывается соединение с сетью wifi.\nОлег Гусев"),
    _m("laptop-wifi-drops", "nb", "Marte Bakke <marte@hamar.example>", "Den bærbare mister wifi",
       "Hei, den bærbare PC-en min mister forbindelsen til det trådløse nettverket hele tiden.\nMarte"),

    # attachment-too-large: Norwegian only; asked in nb, en and ru.
    _m("attachment-too-large", "nb", "Rune Eide <rune@sogn.example>", "E-post med vedlegg kommer i retur",
       "Hei, når jeg sender tegningene som vedlegg får jeg feilmelding 552 5.3.4 Message size exceeds fixed "
       "limit.\nRune"),
    _m("attachment-too-large", "nb", "Anne Foss <anne@voss.example>", "Kan ikke sende stor fil",
       "Hei! E-posten min med et vedlegg på 40 MB blir avvist. Hva er grensen?\nAnne Foss"),
    _m("attachment-too-large", "en", "Tim Brooks <tim@wells.example>", "Email with attachment bounced",
       "Hi, my email with a large attachment came back: 552 5.3.4 Message size exceeds fixed limit. How can I "
       "send it?\nTim"),
    _m("attachment-too-large", "en", "Kate Moss <kate@ely.example>", "Large attachments rejected",
       "Hello, I can't send a 30MB presentation as an attachment, the mail is rejected every time.\nKate"),
    _m("attachment-too-large", "ru", "Юлия Соболева <yulia@kazan.example>", "Письмо с вложением вернулось",
       "Здравствуйте, отправила письмо с большим вложением, пришла ошибка 552 5.3.4. Как отправить файл?\nЮлия"),

    # subscription-cancel: Russian and English variants; asked in ru, en and nb.
    _m("subscription-cancel", "ru", "Галина Орлова <galina@tomsk.example>", "Отмена подписки",
       "Здравствуйте, хочу отменить подписку и вернуть деньги за оставшиеся месяцы.\nГалина Орлова"),
    _m("subscription-cancel", "ru", "Михаил Егоров <mikhail@chita.example>", "Верните деньги за продление",
       "Добрый день! Подписка продлилась автоматически, я не хотел. Прошу отменить и сделать возврат.\nМихаил"),
    _m("subscription-cancel", "en", "Oliver Reed <oliver@bury.example>", "Cancel my subscription please",
       "Hi, please cancel our subscription, we no longer use the service. Can we get a refund for the rest "
       "of the year?\nOliver Reed"),
    _m("subscription-cancel", "en", "Grace Bell <grace@rye.example>", "Refund for auto renewal",
       "Hello, our plan renewed automatically yesterday. We want to cancel and get our money back.\nGrace"),
    _m("subscription-cancel", "nb", "Sindre Holm <sindre@alta.example>", "Si opp abonnementet",
       "Hei, vi ønsker å avslutte abonnementet og få refusjon for månedene vi ikke bruker.\nMvh Sindre Holm"),
)


def cross_language(mail: Mail) -> bool:
    """Whether the mail is in a language its problem's article has no variant in."""
    problem = next(p for p in PROBLEMS if p.key == mail.problem)
    return mail.language not in {v.language for v in problem.variants}


# Written after the lexicon was frozen, and not used to change it: two more mails per problem, each in
# a language its article has no variant in. The replay reports them apart, as the honest figure for
# mail worded in ways the lexicon's author did not see.
HELD_OUT = (
    _m("password-reset-mail", "ru", "Вера Ким <vera@ob.example>", "Не могу восстановить доступ",
       "Добрый вечер. Запросила смену пароля на странице входа, жду уже 20 минут — письма нет.\nВера"),
    _m("password-reset-mail", "nb", "Trine Aas <trine@nes.example>", "Får ikke e-post om nytt passord",
       "Hei! Jeg har bedt om å nullstille passordet, men e-posten kommer aldri. Sjekket søppelpost.\nTrine"),
    _m("printer-blank-toner", "ru", "Лариса Гончарова <larisa@ok.example>", "После замены тонера листы белые",
       "Здравствуйте, вставили новый тонер, принтер выдает абсолютно чистые листы.\nЛариса"),
    _m("printer-blank-toner", "ru", "Степан Ильин <stepan@ok.example>", "принтер не печатает текст",
       "Привет, бумага проходит, а на страницах пусто. Картридж новый, вчера поставили.\nСтепан"),
    _m("vpn-certificate", "nb", "Arne Bø <arne@lom.example>", "VPN kobler ikke til",
       "Hei, FortiClient gir feil om sertifikat og VPN-tilkoblingen feiler. Sertifikatet er visst utløpt.\nArne"),
    _m("vpn-certificate", "en", "Nick Page <nick@crewe.example>", "Forticlient certificate error",
       "Morning, the VPN client complains the certificate is no longer valid and won't connect.\nNick"),
    _m("invoice-charged-twice", "en", "Amy Fox <amy@poole.example>", "Double charge on my card",
       "Hi, I paid the invoice once but my card was charged twice. Please refund the extra payment.\nAmy"),
    _m("invoice-charged-twice", "ru", "Денис Уткин <denis@ob.example>", "Двойная оплата",
       "Добрый день! Платёж по счёту прошёл дважды, с карты списано два раза. Прошу вернуть.\nДенис"),
    _m("calendar-phone-sync", "nb", "Jorunn Lie <jorunn@os.example>", "Avtaler vises ikke på telefonen",
       "Hei! Møtene fra Outlook kommer ikke inn i kalenderen på Android-telefonen min etter passordbytte.\n"
       "Jorunn"),
    _m("calendar-phone-sync", "nb", "Erik Dal <erik@os.example>", "iPhone-kalender oppdateres ikke",
       "Hei, kalenderen på iPhone synkroniserer ikke med Outlook lenger.\nErik"),
    _m("scanner-wrong-folder", "en", "Mia Stone <mia@ripon.example>", "Scans go to the wrong place",
       "Hello, scanned documents from the copier no longer end up in my scan folder on the shared drive.\nMia"),
    _m("scanner-wrong-folder", "ru", "Олеся Котова <olesya@ob.example>", "Сканы не попадают в папку",
       "Здравствуйте, сканирую на МФУ, а файлы не появляются в моей папке на общем диске.\nОлеся"),
    _m("account-locked-2fa", "ru", "Глеб Носов <gleb@ob.example>", "Аккаунт заблокирован, нет смс",
       "Здравствуйте! Не приходит смс с кодом для входа, после нескольких попыток учетная запись "
       "заблокирована.\nГлеб"),
    _m("account-locked-2fa", "nb", "Ida Vold <ida@lom.example>", "Sperret ute",
       "Hei, engangskoden på SMS kom aldri, og nå er brukeren min låst. Hjelp!\nIda"),
    _m("export-encoding", "nb", "Oda Rye <oda@nes.example>", "Rare tegn i CSV-eksport",
       "Hei, når jeg åpner eksporten i Excel blir de russiske navnene til rare tegn.\nOda"),
    _m("export-encoding", "en", "Sean Ray <sean@hove.example>", "Export shows wrong characters",
       "Hi, the CSV report opened in Excel shows garbled characters instead of Cyrillic letters.\nSean"),
    _m("mailbox-full", "ru", "Фёдор Ляхов <fedor@ob.example>", "Не получаю почту",
       "Добрый день, мне говорят, что письма возвращаются, ошибка 552. Ящик, видимо, переполнен.\nФёдор"),
    _m("mailbox-full", "nb", "Heidi Sand <heidi@os.example>", "E-post avvises - kvote",
       "Hei, postkassen min er visst full og e-post til meg blir avvist. Kan kvoten økes?\nHeidi"),
    _m("laptop-wifi-drops", "nb", "Vegard Li <vegard@lom.example>", "Mister trådløst nett",
       "Hei, PC-en min kobles fra wifi hele tiden, mobilen har ikke noe problem.\nVegard"),
    _m("laptop-wifi-drops", "ru", "Инна Шубина <inna@ob.example>", "ноутбук отваливается от сети",
       "Здравствуйте, на ноутбуке пропадает беспроводная сеть каждые 10 минут.\nИнна"),
    _m("attachment-too-large", "en", "Zoe Hart <zoe@wick.example>", "Message size exceeds fixed limit",
       "Hi, I tried to email a big PDF and got 552 5.3.4 back. What's the maximum attachment size?\nZoe"),
    _m("attachment-too-large", "ru", "Борис Титов <boris@ob.example>", "Большой файл не отправляется",
       "Добрый день, письмо с вложением 35 МБ возвращается обратно. Как отправить такой файл?\nБорис"),
    _m("subscription-cancel", "nb", "Marit Ness <marit@nes.example>", "Refusjon etter fornyelse",
       "Hei, abonnementet vårt ble fornyet automatisk. Vi vil avslutte og få pengene tilbake.\nMarit"),
    _m("subscription-cancel", "nb", "Bjørn Eng <bjorn@os.example>", "Avslutte lisens",
       "Hei! Hvordan sier vi opp abonnementet og får refusjon for resten av året?\nBjørn"),
)
