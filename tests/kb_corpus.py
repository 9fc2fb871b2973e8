"""A generated corpus of support tickets for the knowledge-article tests.

Twelve support problems of an office IT / SaaS helpdesk, four written by
English-speaking customers, four by Russian-speaking and four by Norwegian
(bokmål) ones.  Each problem has three tickets from three different
customers, worded differently (sentence structure, synonyms, inflected
forms, greetings, signatures, quoted history, the odd typo), each with the
closing SBO note an agent wrote in the customer's language.

Some problems deliberately share vocabulary (two English printer problems,
a Norwegian printer and a Norwegian scanner problem on the same kind of
machine, an Outlook password problem next to an Outlook bounce problem), so
that capture must tell different problems apart while still recognising the
three tickets of one problem as the same.

`TICKETS` interleaves the problems: the three tickets of one problem are
never adjacent.  `INFLECTION_QUERIES` holds searches an agent might type, in
other inflected forms than the first ticket of the problem uses.

All names, companies, addresses and phone numbers are made up; e-mail
domains end in .example.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CorpusTicket:
    problem: str        # a short stable id of the problem, e.g. "en-printer-blank-pages"
    language: str       # "en", "ru", "no"
    customer_name: str
    customer_email: str
    subject: str
    body: str           # the customer's first mail, plain text
    situation: str
    behaviour: str
    outcome: str
    outcome_kind: str
    cause: str
    tags: tuple[str, ...]


# ---------------------------------------------------------------------------
# English.

_EN_PRINTER_BLANK = (
    CorpusTicket(
        problem="en-printer-blank-pages",
        language="en",
        customer_name="Greg Holloway",
        customer_email="greg.holloway@brightwell.example",
        subject="Printer printing blank pages since toner change",
        body="""\
Hi,

Since we changed the toner in the second floor printer (the big HP by the
kitchen) this morning, everything comes out blank. The paper goes through
fine and there is no error on the display, but there's nothing on it. We
tried from two different laptops, same thing.

Can someone take a look? We have a board pack due at 3pm.

Thanks,
Greg Holloway
Office Manager, Brightwell Logistics
Tel: +44 20 7946 0132
greg.holloway@brightwell.example""",
        situation="The second-floor HP LaserJet at Brightwell produced completely blank sheets right after "
                  "the office replaced the toner cartridge.",
        behaviour="Asked Greg to open the front cover and take the cartridge out; the orange sealing tape was "
                  "still in place. Had him pull it out fully and reseat the cartridge.",
        outcome="A test page printed with full coverage and the board pack came out fine; Greg confirmed.",
        outcome_kind="resolved",
        cause="The protective sealing strip on the new toner cartridge had not been removed, so no toner "
              "reached the drum.",
        tags=("printer", "toner"),
    ),
    CorpusTicket(
        problem="en-printer-blank-pages",
        language="en",
        customer_name="Samira Okafor",
        customer_email="sam.okafor@lanternstudio.example",
        subject="all pages white after new cartridge",
        body="""\
new toner cartridge in, printer spits out white sheets. nothing printed
on them at all. pls help

-- Sam""",
        situation="Customer's laser printer fed paper but left every sheet white after a fresh toner "
                  "cartridge went in.",
        behaviour="Walked her through removing the cartridge and checking for the pull-tab seal, which was "
                  "still attached. Seal removed, cartridge rocked gently and put back.",
        outcome="Printer prints normally again; she sent a photo of a readable page.",
        outcome_kind="resolved",
        cause="Seal tab left on the replacement toner.",
        tags=("printer", "toner", "hardware"),
    ),
    CorpusTicket(
        problem="en-printer-blank-pages",
        language="en",
        customer_name="Priya Natarajan",
        customer_email="priya@natarajan-co.example",
        subject="Re: Brother printer - empty printouts",
        body="""\
Hello again,

Following up on my colleague's message below - we still have the problem.
I went and bought a genuine Brother toner in case the cheap one was the
issue, put it in yesterday afternoon and the printouts are still empty.
Well, almost empty, there is a very faint grey line down the left edge on
some of them. The printer says "Ready" and the toner level shows full. Is
the printer broken? Its only two years old.

Regards,
Priya Natarajan
Natarajan & Co Accountants
07700 900461

On Tue, 4 Mar 2025 at 09:12, Tom Becker <tom.becker@natarajan-co.example> wrote:
> Hi support, we replaced the toner on our Brother printer and now it only
> prints blank paper. Could you advise?
> Tom""",
        situation="The Brother printer at Natarajan & Co printed empty sheets, at most a faint grey edge line, "
                  "after two toner replacements in a row.",
        behaviour="Explained on the phone that new cartridges ship with a plastic seal; she found it still on "
                  "the current cartridge, pulled it and reinstalled. Suggested checking the first one too.",
        outcome="Printouts have normal density again and the printer is not faulty; she will keep the "
                "first cartridge as a spare.",
        outcome_kind="resolved",
        cause="Both new cartridges were installed with the transport seal still on, blocking the toner.",
        tags=("printer", "toner"),
    ),
)

_EN_PRINTER_NOT_FOUND = (
    CorpusTicket(
        problem="en-printer-not-found-after-update",
        language="en",
        customer_name="Daniel Fairweather",
        customer_email="daniel.fairweather@brightwell.example",
        subject="Printer not found after Windows update",
        body="""\
Good morning,

After the Windows update last night my laptop can't find the printer any
more. When I try to print, the list only shows "Microsoft Print to PDF" and
"OneNote". The printer itself works for colleagues who haven't restarted
yet.

Kind regards,
Daniel Fairweather
Brightwell Logistics
Mobile: +44 7700 900218""",
        situation="After the overnight Windows update Daniel's laptop no longer listed the office printer; "
                  "only the PDF and OneNote virtual printers were left.",
        behaviour="Checked Printers & scanners remotely: the queue and its driver were gone. Re-added the "
                  "printer from the print server \\\\print01, which pulled the driver down again.",
        outcome="The printer is back in the list and a test page printed from Word.",
        outcome_kind="resolved",
        cause="The cumulative Windows update removed the installed printer driver together with its queue.",
        tags=("printer", "windows-update", "driver"),
    ),
    CorpusTicket(
        problem="en-printer-not-found-after-update",
        language="en",
        customer_name="Jess Lund",
        customer_email="jess.lund@harbourview.example",
        subject="printers gone???",
        body="""\
Windows updated itself and now none of my printers show up. Tried "Add a
printer" and it searches forever and then says "The printer that I want
isn't listed". Restarted twice. Help!!

Jess""",
        situation="Windows auto-updated on Jess's PC and every network printer disappeared; the Add a "
                  "printer search found nothing at all.",
        behaviour="Connected by remote session, browsed to \\\\print01 directly instead of relying on network "
                  "discovery, and connected both queues there so the drivers were reinstalled.",
        outcome="Both floor printers are installed again; she printed a page on each to confirm.",
        outcome_kind="resolved",
        cause="Driver packages wiped by the Windows update; discovery cannot find shared queues, only the "
              "print server can reinstall them.",
        tags=("printer", "windows-update"),
    ),
    CorpusTicket(
        problem="en-printer-not-found-after-update",
        language="en",
        customer_name="Martin Osei",
        customer_email="martin.osei@harbourview.example",
        subject="Cannot add printer - after this month's patches",
        body="""\
Hello,

We are seeing an issue on three PCs in the finance team since this month's
Patch Tuesday updates were installed. The printers were removed from the
devices, and when users try to print they get "No printers installed". I
tried reinstalling the printer from the manufacturer's website but the
installer says the device cannot be found on the network.

Could you advise whether this is a known issue?

Best regards
Martin Osei
Finance Systems Coordinator
Harbourview Property Ltd
+44 161 496 0754 | martin.osei@harbourview.example""",
        situation="Three finance PCs at Harbourview lost their printers after the monthly Windows patches; "
                  "the vendor installer could not discover the device.",
        behaviour="Advised against the vendor installer. Reconnected each PC to the shared queue on the "
                  "print01 server, which redeploys the driver; did the first PC with Martin, he did the rest.",
        outcome="All three machines print again, Martin confirmed by e-mail the same afternoon.",
        outcome_kind="resolved",
        cause="Patch Tuesday update dropped the print driver and the queue connections on the clients.",
        tags=("printer", "windows-update", "driver"),
    ),
)

_EN_OUTLOOK_PASSWORD = (
    CorpusTicket(
        problem="en-outlook-password-prompt",
        language="en",
        customer_name="Oliver Grant",
        customer_email="oliver.grant@meadowfield.example",
        subject="Outlook keeps asking for my password",
        body="""\
Hi there,

Outlook keeps asking me for my password. I type it in, the box goes away
for a minute or two and then it pops up again. I changed my password on
Monday because it expired, not sure if that's related. My phone gets
e-mail fine.

Cheers
Oliver Grant""",
        situation="Outlook on Oliver's desktop showed the password dialog again a minute after each "
                  "successful entry, starting after his expired password was changed.",
        behaviour="Opened Credential Manager with him and deleted the stale MicrosoftOffice16 entries that "
                  "still held the old password, restarted Outlook and signed in once with the new one.",
        outcome="No further prompts during a twenty minute check; mail syncs normally.",
        outcome_kind="resolved",
        cause="Old credentials cached in Windows Credential Manager after the password change kept being "
              "rejected.",
        tags=("outlook", "password", "credentials"),
    ),
    CorpusTicket(
        problem="en-outlook-password-prompt",
        language="en",
        customer_name="Hannah Pryce",
        customer_email="h.pryce@lanternstudio.example",
        subject="password prompt loop in outlook",
        body="""\
Outlook asking for password every 5 mins. Its the correct password. really
annoying, cant work like this.""",
        situation="Hannah was prompted for her password by Outlook roughly every five minutes even though "
                  "what she entered was correct.",
        behaviour="Found cached Office credentials from before her last password reset in Windows "
                  "Credential Manager; removed them and let Outlook authenticate from scratch.",
        outcome="The prompt loop stopped; she confirmed the next morning that it stayed quiet.",
        outcome_kind="resolved",
        cause="Stale saved Office credential from before the reset.",
        tags=("outlook", "credentials"),
    ),
    CorpusTicket(
        problem="en-outlook-password-prompt",
        language="en",
        customer_name="Louise Carrington",
        customer_email="louise.carrington@meadowfield.example",
        subject="Re: Outlook credentials",
        body="""\
Hello,

Sorry to bother you again but the password thing is back. I did what Mark
said last week and it worked for a day, but now Outlook is asking for my
credentials again, it says "Need Password" at the bottom and keeps
disconnecting. I must have entered my password 30 times today. Is my
account locked? Teams seems to be okay.

Louise

On 12 Feb 2025, at 14:05, Patroldesk Support <support@patroldesk.example> wrote:
> Hi Louise,
> please restart Outlook and enter your new password when prompted.
> Regards, Mark""",
        situation="Outlook kept showing 'Need Password' and disconnecting for Louise a week after an earlier "
                  "restart-and-retype suggestion had only helped for a day.",
        behaviour="Cleared her saved Outlook and Office entries from Credential Manager, which still held the "
                  "pre-change password, restarted Outlook and had her sign in once with the current one.",
        outcome="The status bar shows Connected and no prompts have come back; the account was never locked.",
        outcome_kind="resolved",
        cause="Credential Manager kept offering the password from before the change; a restart alone does "
              "not clear it.",
        tags=("outlook", "password"),
    ),
)

_EN_MAIL_550 = (
    CorpusTicket(
        problem="en-mail-external-550",
        language="en",
        customer_name="Rebecca Mills",
        customer_email="rebecca.mills@meadowfield.example",
        subject="Emails to customers bounce back with 550 error",
        body="""\
Hello support,

Every e-mail I send to someone outside our company comes back within a
minute with "550 5.7.1 Unable to relay". Internal mail to colleagues works
perfectly. I set the account up in Thunderbird myself after getting a new
laptop, maybe I did something wrong?

Thank you,
Rebecca Mills
Meadowfield Veterinary Clinic
01632 960318
rebecca.mills@meadowfield.example""",
        situation="Rebecca's mail to outside domains bounced with 550 5.7.1 Unable to relay while internal "
                  "mail was delivered; the account was freshly set up in Thunderbird.",
        behaviour="Checked her outgoing server settings: port 25 with no authentication. Changed it to port "
                  "587, STARTTLS, normal password authentication with her mailbox login.",
        outcome="A test message to an external address arrived and no bounce came back.",
        outcome_kind="resolved",
        cause="The mail client sent through SMTP without authentication, so the server refused to relay to "
              "outside domains.",
        tags=("email", "smtp", "bounce"),
    ),
    CorpusTicket(
        problem="en-mail-external-550",
        language="en",
        customer_name="Kevin Doyle",
        customer_email="kevin.doyle@harbourview.example",
        subject="mails bouncing",
        body="""\
Hi, all my outgoing mails to gmail and hotmail addresses are getting
bounced. error says 550 relay not permitted

Sent from my iPhone""",
        situation="Outgoing mail from Kevin's iPhone to gmail and hotmail recipients bounced with '550 relay "
                  "not permitted'.",
        behaviour="Went through Settings > Mail > Accounts > SMTP with him; authentication was set to None. "
                  "Switched it to password, port 587 with SSL on.",
        outcome="He resent the bounced messages and they were all delivered.",
        outcome_kind="resolved",
        cause="Unauthenticated SMTP on the phone, relay to external recipients denied.",
        tags=("email", "smtp", "mobile"),
    ),
    CorpusTicket(
        problem="en-mail-external-550",
        language="en",
        customer_name="Aisha Rahman",
        customer_email="aisha.rahman@brightwell.example",
        subject="Fwd: Undelivered Mail Returned to Sender",
        body="""\
Hi,

this keeps happening, see below. I can email colleagues no problem but
anything to an outside address gets returned to me. Using Outlook on my
work PC.

Aisha

On Thu, 6 Mar 2025 at 10:41, Mail Delivery System <MAILER-DAEMON@mx1.patroldesk.example> wrote:
> This is the mail system at host mx1.patroldesk.example.
>
> I'm sorry to have to inform you that your message could not
> be delivered to one or more recipients.
>
> <orders@supplier.example>: 550 5.7.1 <orders@supplier.example>: Relay access denied""",
        situation="Aisha forwarded a 'Relay access denied' 550 5.7.1 bounce for a quote to a supplier; only "
                  "mail to external recipients was affected.",
        behaviour="Her Outlook profile used an IMAP/SMTP account with 'My outgoing server requires "
                  "authentication' unticked. Ticked it, same settings as incoming, port 587 with STARTTLS.",
        outcome="The quote was resent and reached the supplier; further external test mails went through.",
        outcome_kind="resolved",
        cause="Outgoing server authentication was switched off in the account settings, so external relay "
              "was refused.",
        tags=("email", "smtp", "outlook"),
    ),
)

# ---------------------------------------------------------------------------
# Russian.

_RU_PRINTER_GARBLED = (
    CorpusTicket(
        problem="ru-printer-garbled-text",
        language="ru",
        customer_name="Ольга Белова",
        customer_email="o.belova@severveter.example",
        subject="Принтер печатает непонятные символы",
        body="""\
Добрый день!

С утра принтер в бухгалтерии печатает вместо документов какие-то
непонятные символы, по одной строчке на странице, и так листов по
тридцать подряд. Выключали, включали — не помогает. Бумаги уже полпачки
извели.

Подскажите, пожалуйста, что делать.

С уважением,
Ольга Викторовна Белова
главный бухгалтер ООО «Северный ветер»
тел. +7 (812) 555-14-27
o.belova@severveter.example""",
        situation="Принтер в бухгалтерии «Северного ветра» вместо документов выдавал листы с набором "
                  "непонятных символов, по строке на страницу.",
        behaviour="Подключился удалённо и увидел, что у очереди печати стоит драйвер PostScript. Сменил его "
                  "на Universal PCL 6 и очистил очередь от зависших заданий.",
        outcome="Пробная страница и документ из 1С напечатались нормально, Ольга Викторовна подтвердила.",
        outcome_kind="resolved",
        cause="На компьютере был выбран драйвер PostScript вместо PCL 6, и принтер печатал поток данных "
              "как текст.",
        tags=("принтер", "драйвер"),
    ),
    CorpusTicket(
        problem="ru-printer-garbled-text",
        language="ru",
        customer_name="Дмитрий Кузнецов",
        customer_email="kuznetsov.d@stroymontazh.example",
        subject="принтер глючит",
        body="""\
принтер печатает кракозябры вместо текста,что делать??? срочно нужно
договор распечатать""",
        situation="У клиента принтер вместо договора печатал бессмысленный набор знаков, а договор нужен "
                  "был срочно.",
        behaviour="Проверил свойства принтера: стоял драйвер PS. Поставил PCL 6 и перезапустил задание "
                  "печати договора.",
        outcome="Договор распечатался корректно, клиент доволен результатом.",
        outcome_kind="resolved",
        cause="Неподходящий драйвер (PostScript) для принтера, понимающего только PCL.",
        tags=("принтер", "печать"),
    ),
    CorpusTicket(
        problem="ru-printer-garbled-text",
        language="ru",
        customer_name="Анна Миронова",
        customer_email="a.mironova@tehnopark-m.example",
        subject="Re: абракадабра при печати",
        body="""\
Здравствуйте.

Пишу повторно, проблема с принтером так и не решилась. После того как наш
системный администратор уволился, никто не знает, что он там настраивал.
Оба принтера на втором этаже (HP и Kyocera) нормально печатают с
ноутбуков, а с моего компьютера нормально выходит только на Kyocera, а на
HP вылезают страницы со строчками типа %!PS-Adobe-3.0 и дальше какие-то
цифры. Раньше всё работало. Может, вирус?

Спасибо.
Анна Сергеевна Миронова
офис-менеджер
+7 916 555-03-88

18.03.2025, 11:02, "Миронова Анна" <a.mironova@tehnopark-m.example> пишет:
> Добрый день. У меня принтер печатает какую-то абракадабру.
> Посмотрите, пожалуйста.""",
        situation="С компьютера Анны Сергеевны на принтер HP уходил PostScript, и он печатал строки "
                  "«%!PS-Adobe-3.0» вместо документа; с других машин печать шла нормально.",
        behaviour="Выяснил, что на её ПК для HP установлен драйвер PostScript, а принтер понимает только "
                  "PCL. Переустановил очередь с драйвером HP Universal PCL 6, про вирус успокоил.",
        outcome="Документы печатаются на HP без мусора, повторное обращение закрыто.",
        outcome_kind="resolved",
        cause="Очередь HP на этом ПК была настроена прежним администратором с драйвером PostScript.",
        tags=("принтер", "драйвер", "печать"),
    ),
)

_RU_VPN_CERT = (
    CorpusTicket(
        problem="ru-vpn-cert-expired",
        language="ru",
        customer_name="Игорь Павлов",
        customer_email="i.pavlov@severveter.example",
        subject="Не подключается VPN из дома",
        body="""\
Здравствуйте!

Работаю сегодня из дома, VPN не подключается. Клиент OpenVPN пишет
«Connecting...», потом «TLS handshake failed» и всё по новой. Интернет
дома есть, сайты открываются. Вчера в офисе всё было нормально (там VPN и
не нужен).

Игорь Павлов
отдел продаж
моб. +7 903 555-21-40""",
        situation="Игорь из дома не мог подключиться к VPN: OpenVPN по кругу выдавал TLS handshake failed "
                  "при работающем домашнем интернете.",
        behaviour="По логам сервера увидел, что его клиентский сертификат истёк накануне. Выпустил новый "
                  "сертификат на портале, прислал профиль и помог импортировать его в OpenVPN Connect.",
        outcome="Подключение установилось, доступ к общим папкам и 1С из дома есть.",
        outcome_kind="resolved",
        cause="Истёк срок действия клиентского сертификата VPN, сервер отклонял подключение на этапе TLS.",
        tags=("vpn", "сертификат", "удалёнка"),
    ),
    CorpusTicket(
        problem="ru-vpn-cert-expired",
        language="ru",
        customer_name="Екатерина Смирнова",
        customer_email="k.smirnova@tehnopark-m.example",
        subject="впн",
        body="""\
не могу зайти в впн с домашнего компа. пишет ошибку сертификата. пароль
правильный""",
        situation="Клиентка не могла войти в VPN с домашнего компьютера: клиент ругался на сертификат, "
                  "хотя пароль был верный.",
        behaviour="Проверила срок действия её сертификата — закончился. Перевыпустила сертификат через "
                  "портал самообслуживания и объяснила, как заменить профиль в клиенте.",
        outcome="После замены профиля VPN подключается с первого раза.",
        outcome_kind="resolved",
        cause="Просроченный сертификат пользователя для VPN.",
        tags=("vpn", "сертификат"),
    ),
    CorpusTicket(
        problem="ru-vpn-cert-expired",
        language="ru",
        customer_name="Алексей Громов",
        customer_email="a.gromov@tehnopark-m.example",
        subject="Удалённый доступ к сети обрывается",
        body="""\
Добрый вечер,

у меня с понедельника не получается подключиться к корпоративной сети
удалённо. Думал, дело в роутере — перезагрузил, потом вообще подключился
через мобильный интернет с телефона, всё равно тот же результат:
соединение рвётся через пару секунд после запуска. Коллега говорит, что у
него месяц назад было то же самое и ему что-то «продлили». Может, и мне
надо что-то продлить? Завтра опять работаю из дома, очень рассчитываю на
вас.

--
С уважением,
Алексей Николаевич Громов
ведущий инженер
ООО «Технопарк-М»
+7 (495) 555-77-12, доб. 214
a.gromov@tehnopark-m.example""",
        situation="У Алексея Николаевича удалённое подключение обрывалось через несколько секунд и через "
                  "домашний роутер, и через мобильный интернет.",
        behaviour="Сертификат удалённого доступа оказался просрочен, как и у его коллеги месяцем раньше. "
                  "Выпустила новый на год, отправила файл профиля и проверила подключение вместе с ним.",
        outcome="VPN работает, завтрашний день из дома не под угрозой; поставили напоминание продлевать "
                "сертификат заранее.",
        outcome_kind="resolved",
        cause="Закончился годовой сертификат клиента удалённого доступа; роутер и провайдер ни при чём.",
        tags=("vpn", "сертификат", "удалёнка"),
    ),
)

_RU_INVOICE_VAT = (
    CorpusTicket(
        problem="ru-invoice-vat",
        language="ru",
        customer_name="Марина Лебедева",
        customer_email="lebedeva.ma@mail.example",
        subject="Неправильный НДС в счёте",
        body="""\
Добрый день.

В счёте за март (PDF из личного кабинета) указан НДС 20%, хотя мы на
упрощёнке и НДС не платим, в договоре это прописано. Сумма получается
больше, бухгалтерия не может его провести. Прошу исправить и прислать
корректный счёт.

Марина Лебедева
ИП Лебедева М.А.
+7 921 555-60-19
lebedeva.ma@mail.example""",
        situation="В PDF-счёте за март для ИП Лебедевой был начислен НДС 20%, хотя по договору она работает "
                  "без НДС на УСН.",
        behaviour="Нашла в биллинге, что в карточке клиента стоит налоговая ставка 20%. Сменила профиль на "
                  "«Без НДС» и перевыставила мартовский счёт.",
        outcome="Новый счёт без НДС отправлен клиентке, старый аннулирован, бухгалтерия его приняла.",
        outcome_kind="resolved",
        cause="В карточке клиента в биллинге стояла ставка НДС 20%, хотя организация работает на УСН.",
        tags=("счёт", "ндс", "биллинг"),
    ),
    CorpusTicket(
        problem="ru-invoice-vat",
        language="ru",
        customer_name="Виктор Осипов",
        customer_email="osipov@stroymontazh.example",
        subject="счета с ндс",
        body="""\
Почему в наших счетах опять НДС? мы же без НДС работаем. Исправьте
пожалуйста.""",
        situation="Клиент жаловался, что в выставленных ему счетах начислен НДС, хотя компания работает "
                  "без него.",
        behaviour="Проверил налоговые настройки организации в биллинге: была ставка 20% вместо «Без НДС». "
                  "Поправил и переформировал два последних счёта.",
        outcome="Клиент получил исправленные счета без налога и подтвердил, что суммы сходятся.",
        outcome_kind="resolved",
        cause="Ошибочная ставка налога в профиле клиента.",
        tags=("ндс", "биллинг"),
    ),
    CorpusTicket(
        problem="ru-invoice-vat",
        language="ru",
        customer_name="Татьяна Ершова",
        customer_email="t.ershova@alfalog.example",
        subject="Fwd: счёт № 1187 — неверная сумма налога",
        body="""\
Здравствуйте,

пересылаю письмо нашего бухгалтера. Суть: в PDF-файле счёта сумма налога
посчитана неверно, у нас освобождение от НДС. Можно ли сделать так, чтобы
все следующие счета приходили уже правильными? Не хочется каждый месяц
писать.

Спасибо,
Татьяна Ершова
администратор, ООО «Альфа-Логистик»

20.03.2025 в 16:47, Галина Петровна <buh@alfalog.example> пишет:
> Таня, в счёте № 1187 от 01.03 выделен НДС 20% — 3 450,00 руб.
> Мы на УСН, такой счёт я провести не могу. Пусть переделают.""",
        situation="Бухгалтер «Альфа-Логистик» не могла провести счёт № 1187: в нём выделен НДС 20%, а "
                  "организация на УСН и освобождена от налога.",
        behaviour="Исправил ставку в налоговом профиле клиента на «Без НДС», чтобы все будущие счета "
                  "формировались без налога, и переоформил счёт № 1187.",
        outcome="Корректный счёт отправлен Татьяне и бухгалтеру; следующие счета будут уже правильными.",
        outcome_kind="resolved",
        cause="Налоговый профиль клиента в системе биллинга был заведён со ставкой 20%.",
        tags=("счёт", "ндс"),
    ),
)

_RU_2FA_SMS = (
    CorpusTicket(
        problem="ru-2fa-sms",
        language="ru",
        customer_name="Светлана Куликова",
        customer_email="s.kulikova@severveter.example",
        subject="Не приходят SMS с кодом для входа",
        body="""\
Здравствуйте. Не могу войти в кабинет: после ввода пароля система просит
код из SMS, а SMS не приходит. Нажимала «Отправить ещё раз» раз десять.
Номер телефона правильный, обычные сообщения приходят.

Светлана Куликова
+7 926 555-48-03""",
        situation="Светлана не могла завершить вход: код двухфакторной аутентификации по SMS не доходил, "
                  "хотя номер верный и прочие SMS приходят.",
        behaviour="По журналу SMS-шлюза сообщения уходили, но оператор возвращал статус «заблокировано». "
                  "Сбросила ей второй фактор и помогла подключить приложение-аутентификатор.",
        outcome="Вход выполнен с кодом из приложения; SMS у её оператора по-прежнему не проходят, так что "
                "это обходное решение.",
        outcome_kind="workaround",
        cause="Мобильный оператор блокировал SMS от буквенного отправителя как спам.",
        tags=("2fa", "sms", "вход"),
    ),
    CorpusTicket(
        problem="ru-2fa-sms",
        language="ru",
        customer_name="Роман Зайцев",
        customer_email="zaytsev.roman@mail.example",
        subject="код не приходит",
        body="""\
смс с кодом двухфакторки не приходят уже второй день. войти не могу
вообще""",
        situation="Клиент второй день не получал SMS-коды двухфакторной аутентификации и совсем не мог "
                  "войти в систему.",
        behaviour="Шлюз показал отказ оператора при доставке. Временно перевели клиента на подтверждение "
                  "через TOTP-приложение и отправили инструкцию с QR-кодом.",
        outcome="Клиент вошёл с помощью приложения; вопрос с оператором на контроле, пока работаем так.",
        outcome_kind="workaround",
        cause="Оператор связи отклоняет наши SMS с кодами на стороне своего антиспам-фильтра.",
        tags=("2fa", "sms"),
    ),
    CorpusTicket(
        problem="ru-2fa-sms",
        language="ru",
        customer_name="Павел Тихонов",
        customer_email="p.tikhonov@alfalog.example",
        subject="Сотрудники не получают коды подтверждения",
        body="""\
Добрый день, уважаемая поддержка!

У нас в отделе сразу у троих сотрудников перестали приходить сообщения с
кодами подтверждения. У всех один и тот же оператор (корпоративные
сим-карты), а у кого другой оператор — у тех коды приходят. Мы проверяли:
баланс положительный, телефоны перезагружали, папку «Спам» в сообщениях
смотрели. Без кодов никто не может попасть в систему, работа стоит.

Можно ли как-то получать коды по-другому?

С уважением,
Павел Андреевич Тихонов
руководитель отдела логистики
ООО «Альфа-Логистик»
тел.: +7 (343) 555-90-61
p.tikhonov@alfalog.example""",
        situation="У трёх сотрудников отдела логистики с корпоративными сим-картами одного оператора "
                  "перестали приходить SMS с кодами подтверждения.",
        behaviour="Подтвердила по логам, что оператор режет наши SMS с буквенным именем отправителя. Всем "
                  "троим включила вход через приложение-аутентификатор и провела настройку по видеосвязи.",
        outcome="Сотрудники снова входят в систему с кодами из приложения; жалоба оператору отправлена "
                "отдельно.",
        outcome_kind="workaround",
        cause="Антиспам оператора корпоративной связи блокирует SMS от имени отправителя сервиса.",
        tags=("2fa", "sms", "вход"),
    ),
)

# ---------------------------------------------------------------------------
# Norwegian (bokmål).

_NO_PRINTER_DUPLEX = (
    CorpusTicket(
        problem="no-printer-duplex",
        language="no",
        customer_name="Kari Nordby",
        customer_email="kari.nordby@fjordlys.example",
        subject="Skriveren skriver ikke ut tosidig lenger",
        body="""\
Hei!

Skriveren på møterommet har sluttet å skrive ut på begge sider av arket.
Valget «Skriv ut på begge sider» er grått og kan ikke velges i Word. Det
fungerte fint før jul. Vi har mange lange rapporter, så dette blir mye
papir.

Mvh
Kari Nordby
Fjordlys Regnskap AS
Tlf. 912 34 567
kari.nordby@fjordlys.example""",
        situation="Tosidig utskrift var grået ut i Word for skriveren på møterommet hos Fjordlys, selv om det "
                  "hadde virket før jul.",
        behaviour="Så i skriveregenskapene at tosidigenheten sto som ikke installert etter en ny "
                  "driverinstallasjon. Satte den til «Installert» under Enhetsinnstillinger.",
        outcome="Kari kan velge begge sider igjen, og en testrapport kom ut tosidig.",
        outcome_kind="resolved",
        cause="Etter at driveren ble installert på nytt, sto tosidigenheten som ikke installert i "
              "enhetsinnstillingene.",
        tags=("skriver", "tosidig", "driver"),
    ),
    CorpusTicket(
        problem="no-printer-duplex",
        language="no",
        customer_name="Per Haugen",
        customer_email="per.haugen@bryggeriet.example",
        subject="dobbeltsidig utskrift",
        body="""\
får ikke skrevet ut dobbeltsidig. alternativet er borte

hilsen Per""",
        situation="Per fikk ikke valgt dobbeltsidig utskrift, valget var helt borte fra utskriftsdialogen.",
        behaviour="Fjernstyrte PC-en hans, åpnet Enhetsinnstillinger for skriveren og endret "
                  "dupleksenheten fra «Ikke installert» til «Installert».",
        outcome="Valget er tilbake, og dobbeltsidige utskrifter fungerer som før.",
        outcome_kind="resolved",
        cause="Dupleksenheten var ikke registrert i driveren.",
        tags=("skriver", "tosidig"),
    ),
    CorpusTicket(
        problem="no-printer-duplex",
        language="no",
        customer_name="Ingrid Solberg",
        customer_email="ingrid.solberg@bryggeriet.example",
        subject="SV: Skriverne i 2. etasje",
        body="""\
Hei igjen,

Beklager mas, men det gjelder fortsatt skriverne våre. Etter at dere var
innom og byttet driver forrige uke kommer alt ut på én side av arket, på
alle tre skriverne i andre etasje. Noen av de ansatte har begynt å snu
arkene manuelt, og det er jo ikke helt optimalt. Er det en innstilling på
selve maskinene eller på PC-ene?

Vennlig hilsen
Ingrid Solberg
kontorleder, Bryggeriet Eiendom AS
mob: 481 23 456
ingrid.solberg@bryggeriet.example

Den 14. mars 2025 kl. 08:30 skrev Ingrid Solberg <ingrid.solberg@bryggeriet.example>:
> Hei, skriverne skriver bare ut enkeltsidig etter oppdateringen.
> Kan noen se på det?""",
        situation="Alle tre skriverne i andre etasje hos Bryggeriet skrev bare ut enkeltsidig etter at "
                  "driveren ble byttet forrige uke.",
        behaviour="Forklarte at det er driverinnstillingen, ikke maskinene. Slo på tosidigenheten i "
                  "enhetsinnstillingene for alle tre køene på utskriftsserveren, så det gjelder alle PC-er.",
        outcome="Tosidig utskrift virker igjen fra alle PC-ene; Ingrid bekreftet etter lunsj.",
        outcome_kind="resolved",
        cause="Den nye driveren ble lagt inn uten at tilleggsutstyret (tosidigenheten) var slått på.",
        tags=("skriver", "tosidig", "driver"),
    ),
)

_NO_SCANNER_FOLDER = (
    CorpusTicket(
        problem="no-scanner-wrong-folder",
        language="no",
        customer_name="Marte Bakken",
        customer_email="marte.bakken@fjordlys.example",
        subject="Skanneren lagrer i feil mappe",
        body="""\
Hei,

Når jeg skanner fra den store kopimaskinen havner filene ikke i min mappe
lenger, men i en mappe som heter «Felles_gammel». Kollegaer kan se
dokumentene mine der, og det er lønnsslipper blant dem, så det haster
litt.

Hilsen
Marte Bakken
HR, Fjordlys Regnskap AS
Telefon 930 12 345""",
        situation="Skanninger fra kopimaskinen hos Fjordlys havnet i fellesmappen «Felles_gammel» i stedet "
                  "for Martes personlige mappe, med lønnsdokumenter blant dem.",
        behaviour="Adresseboka på maskinen pekte fortsatt på den gamle filserveren. Oppdaterte Martes "
                  "skanneprofil til \\\\fil02\\skann\\mbakken og flyttet filene til riktig mappe.",
        outcome="En ny testskanning kom i riktig mappe, og filene er fjernet fra fellesmappen.",
        outcome_kind="resolved",
        cause="Skann-til-mappe-profilen på multifunksjonsmaskinen pekte på den gamle filserveren etter "
              "flyttingen.",
        tags=("skanner", "fillagring"),
    ),
    CorpusTicket(
        problem="no-scanner-wrong-folder",
        language="no",
        customer_name="Jonas Lien",
        customer_email="jonas.lien@havbris.example",
        subject="skanning havner feil sted",
        body="""\
skannede dokumenter dukker opp i feil mappe. hvor blir de av egentlig? jeg
finner dem ikke i skannemappen min""",
        situation="Jonas fant ikke de skannede dokumentene sine i sin egen skannemappe; de ble lagt et "
                  "annet sted.",
        behaviour="Sporet destinasjonen i maskinens adressebok til den nedlagte filserveren, rettet stien "
                  "til den nye serveren og viste ham hvor de eldre filene lå.",
        outcome="Skanningene kommer nå i mappen hans, og han har flyttet over de eldre dokumentene.",
        outcome_kind="resolved",
        cause="Gammel serversti i adresseboka på skanneren.",
        tags=("skanner", "fillagring"),
    ),
    CorpusTicket(
        problem="no-scanner-wrong-folder",
        language="no",
        customer_name="Eirik Johansen",
        customer_email="eirik.johansen@havbris.example",
        subject="Skannerne etter serverflyttingen",
        body="""\
Hei dere,

Siden flyttingen til ny server for et par uker siden har skannerne på
begge kontorene våre lagret skannede filer i feil mapper. Noen ganger i en
gammel fellesmappe, noen ganger vet vi ikke hvor. Skanning til e-post
virker som før, det er bare «skann til mappe» som er feil. Har dere
glemt noe under flyttingen?

Takk på forhånd!
Eirik Johansen
IT-ansvarlig (deltid), Havbris Marine AS
+47 951 23 456
eirik.johansen@havbris.example""",
        situation="Etter serverflyttingen lagret skannerne på begge Havbris-kontorene «skann til mappe» i "
                  "gamle eller ukjente mapper, mens skann til e-post virket.",
        behaviour="Alle mappeoppføringene i adressebøkene på de to multifunksjonsmaskinene brukte fortsatt "
                  "den gamle serveren. Eksporterte dem, byttet stien til \\\\fil02 og importerte på nytt.",
        outcome="Alle brukere skanner til riktige mapper på begge kontorene; flyttesjekklista er oppdatert "
                "med skannere.",
        outcome_kind="resolved",
        cause="Skannernes adressebøker ble glemt under serverflyttingen og pekte på gamle delte mapper.",
        tags=("skanner", "fillagring", "serverflytting"),
    ),
)

_NO_CALENDAR_PHONE = (
    CorpusTicket(
        problem="no-calendar-phone",
        language="no",
        customer_name="Silje Moen",
        customer_email="silje.moen@havbris.example",
        subject="Delt kalender vises ikke på mobilen",
        body="""\
Hei!

Jeg har fått tilgang til avdelingens delte kalender, og den ser jeg fint
på PC-en. Men på mobilen (iPhone, Outlook-appen) dukker den ikke opp. Har
prøvd å logge ut og inn igjen.

Mvh Silje Moen""",
        situation="Silje så avdelingens delte kalender på PC-en, men ikke i Outlook-appen på iPhonen, selv "
                  "etter ny innlogging.",
        behaviour="Fant at delingsinvitasjonen aldri var godtatt. Godtok den sammen med henne i Outlook på "
                  "nettet og slo deretter på kalenderen i appen under Kalendere.",
        outcome="Avdelingskalenderen vises nå på mobilen med alle avtalene.",
        outcome_kind="resolved",
        cause="Delingsinvitasjonen til kalenderen var ikke godtatt, så den ble ikke synkronisert til "
              "mobilen.",
        tags=("kalender", "mobil", "outlook"),
    ),
    CorpusTicket(
        problem="no-calendar-phone",
        language="no",
        customer_name="Anders Berg",
        customer_email="anders.berg@fjordlys.example",
        subject="kalender mangler på telefonen",
        body="""\
Ser ikke kalenderen til sjefen på telefonen min. Har fått den delt med meg.
Android""",
        situation="Anders hadde fått delt sjefens kalender med seg, men den manglet på Android-telefonen "
                  "hans.",
        behaviour="Invitasjonen lå ubesvart i innboksen. Ba ham trykke «Godta» i Outlook på nett og så "
                  "aktivere den delte kalenderen i Outlook for Android.",
        outcome="Sjefens kalender synkroniseres til telefonen, og Anders bekreftet at møtene vises.",
        outcome_kind="resolved",
        cause="Ubesvart delingsinvitasjon.",
        tags=("kalender", "mobil"),
    ),
    CorpusTicket(
        problem="no-calendar-phone",
        language="no",
        customer_name="Torunn Vik",
        customer_email="torunn.vik@bryggeriet.example",
        subject="Møteromskalenderne på iPhone",
        body="""\
Hei,

Jeg har nå fått tilgang til kalenderne for alle tre møterommene, men ingen
av dem kommer opp på telefonen. På jobb-PC-en er alt i orden. Jeg bruker
den innebygde Kalender-appen på iPhone, ikke Outlook, hvis det har noe å
si. Har hørt at man må «godta» noe, men jeg har ikke sett noe sånt.

Hilsen
Torunn Vik
Sentralbord, Bryggeriet Eiendom AS
tlf 22 33 44 55

Den tir. 11. mar. 2025 kl. 13:02 skrev Ingrid Solberg <ingrid.solberg@bryggeriet.example>:
> Hei Torunn, jeg har delt møteromskalenderne med deg nå.
> Si fra om du ikke ser dem.""",
        situation="Torunn så møteromskalenderne på PC-en, men ingen av dem på iPhonen med den innebygde "
                  "Kalender-appen.",
        behaviour="Delingsinvitasjonene var ikke godtatt. Godtok alle tre i Outlook på nettet; siden den "
                  "innebygde appen ikke viser delte kalendere, installerte vi Outlook-appen og slo dem på der.",
        outcome="Alle tre møteromskalenderne vises nå i Outlook-appen på telefonen hennes.",
        outcome_kind="resolved",
        cause="Invitasjonene til de delte kalenderne var aldri akseptert; den innebygde appen henter dem "
              "heller ikke.",
        tags=("kalender", "mobil", "outlook"),
    ),
)

_NO_PASSWORD_RESET = (
    CorpusTicket(
        problem="no-password-reset-expired",
        language="no",
        customer_name="Håkon Strand",
        customer_email="hakon.strand@strandelektro.example",
        subject="Lenken for å tilbakestille passordet er utløpt",
        body="""\
Hei,

Jeg har glemt passordet til kundeportalen og ba om å få tilbakestille
det. E-posten kom med en gang, men når jeg klikker på lenken står det
«Lenken er utløpt eller allerede brukt». Har prøvd tre ganger, og jeg
klikker rett etter at e-posten kommer.

Vennlig hilsen
Håkon Strand
Strand Elektro AS
Mob: 411 22 333
hakon.strand@strandelektro.example""",
        situation="Håkon fikk beskjed om at lenken var utløpt eller brukt hver gang han åpnet e-posten for "
                  "tilbakestilling av passord, selv rett etter at den kom.",
        behaviour="Så i loggen at lenken ble åpnet sekunder etter utsending fra en IP hos e-postfilteret "
                  "deres. Fikk lagt portalens domene inn som unntak i lenkeskanningen og sendte ny lenke.",
        outcome="Den nye lenken virket, og Håkon har satt nytt passord og logget inn.",
        outcome_kind="resolved",
        cause="Lenkeskanningen i e-postfilteret åpnet engangslenken før brukeren, så den var brukt opp.",
        tags=("passord", "e-postfilter"),
    ),
    CorpusTicket(
        problem="no-password-reset-expired",
        language="no",
        customer_name="Line Karlsen",
        customer_email="line.karlsen@nordkapp-bygg.example",
        subject="tilbakestillingslenke virker ikke",
        body="""\
linken i mailen for nytt passord sier utløpt hver gang. kan dere bare
resette det for meg?""",
        situation="Line fikk «utløpt» på lenken for nytt passord hver eneste gang hun trykket på den i "
                  "e-posten.",
        behaviour="Lenken ble brukt opp av e-postfilteret deres før hun rakk å klikke. Ba IT-leverandøren "
                  "deres unnta portaldomenet fra lenkeskanning, og sendte så en ny lenke.",
        outcome="Hun kom inn med den nye lenken og valgte et nytt passord.",
        outcome_kind="resolved",
        cause="Spamfilteret forhåndsåpnet tilbakestillingslenkene.",
        tags=("passord", "e-postfilter", "portal"),
    ),
    CorpusTicket(
        problem="no-password-reset-expired",
        language="no",
        customer_name="Sofie Amundsen",
        customer_email="sofie.amundsen@vestvik.example",
        subject="Nyansatte får ikke satt passord",
        body="""\
God morgen,

Vi har et problem med at ingen hos oss får tilbakestilt passord i
portalen deres. Vi har fem nye ansatte som skulle sette passord i dag, og
alle lenkene i e-postene fra dere er «utløpt» når de trykker på dem.
Noen av dem trykket innen et minutt. Jeg lurer på om det har noe med den
nye spamfilterløsningen vår å gjøre, vi byttet leverandør i februar.

Mvh
Sofie Amundsen
HR-rådgiver
Vestvik Transport AS
sofie.amundsen@vestvik.example | 976 54 321""",
        situation="Fem nyansatte hos Vestvik Transport fikk alle «utløpt» på passordlenkene sine, selv når de "
                  "trykket innen ett minutt.",
        behaviour="Sofie hadde rett: det nye spamfilteret sjekket lenkene ved å åpne dem. La inn unntak for "
                  "portalens domene sammen med leverandøren deres og sendte nye lenker til alle fem.",
        outcome="Alle de nyansatte har satt passord og logget inn i portalen.",
        outcome_kind="resolved",
        cause="Det nye spamfilteret fulgte lenkene i e-postene og brukte opp engangslenkene.",
        tags=("passord", "e-postfilter"),
    ),
)

# ---------------------------------------------------------------------------
# The corpus.

_GROUPS = (
    _EN_PRINTER_BLANK, _RU_PRINTER_GARBLED, _NO_PRINTER_DUPLEX,
    _EN_PRINTER_NOT_FOUND, _RU_VPN_CERT, _NO_SCANNER_FOLDER,
    _EN_OUTLOOK_PASSWORD, _RU_INVOICE_VAT, _NO_CALENDAR_PHONE,
    _EN_MAIL_550, _RU_2FA_SMS, _NO_PASSWORD_RESET,
)

# Round by round: every problem's first ticket, then every second, then every third,
# so the three tickets of one problem are twelve places apart.
TICKETS: tuple[CorpusTicket, ...] = tuple(ticket for round_ in zip(*_GROUPS) for ticket in round_)
PROBLEMS = sorted({t.problem for t in TICKETS})

# Searches an agent might type, in other inflected forms than the first ticket of the problem uses.
INFLECTION_QUERIES: tuple[tuple[str, str], ...] = (
    ("printers blank page", "en-printer-blank-pages"),
    ("printers missing after windows updates", "en-printer-not-found-after-update"),
    ("outlook asked passwords", "en-outlook-password-prompt"),
    ("bounced e-mails 550", "en-mail-external-550"),
    ("принтеры печатают кракозябры", "ru-printer-garbled-text"),
    ("сертификата VPN", "ru-vpn-cert-expired"),
    ("счета с неправильным НДС", "ru-invoice-vat"),
    ("не пришли коды", "ru-2fa-sms"),
    ("skriverne tosidig", "no-printer-duplex"),
    ("skanning feil mapper", "no-scanner-wrong-folder"),
    ("delte kalendere mobil", "no-calendar-phone"),
    ("utløpte lenker passord", "no-password-reset-expired"),
)
