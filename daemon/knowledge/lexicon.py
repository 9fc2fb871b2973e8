"""The support-domain concept lexicon: one concept, its words in each language, for finding across languages.

Curated by hand, not learned: a few hundred words an office-IT and SaaS
helpdesk hears every day (password, printer, invoice, mailbox, VPN...), in
English, Norwegian (bokmål, nynorsk), Swedish, Danish, German, French,
Russian and Ukrainian. A word of a concept also stands for its concept
(daemon.knowledge.words), so "пароль", "passord" and "password" meet on one
index term. It is a lexicon, not a translator: a word it lacks is matched
only as itself. Extend it with the words your customers use.
"""
from __future__ import annotations

# One concept a line: its name (the index term it becomes, an English stem), then per language the
# words as written (any inflection; they are stemmed as that language's text is). nn falls back to nb.
LEXICON = """
password = en: password passwords passcode passphrase; nb: passord; sv: lösenord; da: adgangskode kodeord; de: passwort kennwort; fr: motdepasse mdp; ru: пароль парольный; uk: пароль
reset = en: reset resetting; nb: tilbakestille tilbakestilling nullstille nullstilling resette; sv: återställa återställning; da: nulstille nulstilling; de: zurücksetzen; fr: réinitialiser réinitialisation; ru: сброс сбросить сбрасывать восстановление восстановить; uk: скинути скидання відновлення відновити
forgot = en: forgot forgotten forget; nb: glemt glemte glemme; sv: glömt glömde; da: glemt glemte; de: vergessen; fr: oublié oublier; ru: забыл забыла забыть; uk: забув забула забути
email = en: email emails e-mail mail mails; nb: epost e-post e-posten post; sv: epost e-post mejl mejla; da: mail e-mail; de: mail e-mail; fr: courriel mail; ru: письмо письма почта емейл имейл; uk: лист листи пошта
inbox = en: inbox mailbox mailboxes; nb: innboks postkasse innboksen; sv: inkorg brevlåda; da: indbakke postkasse; de: posteingang postfach; fr: boîte réception; ru: ящик входящие; uk: скринька вхідні
arrive = en: arrive arrives arrived arriving receive received receiving; nb: komme kommer kom mottatt motta mottar; sv: kommer fram mottagit; da: modtage modtaget; de: ankommen empfangen erhalten; fr: reçu recevoir arrive; ru: приходит приходят пришло пришел получаю получить получил дошло доходит; uk: приходить надходить отримую отримати отримав
send = en: send sending sent; nb: sende sendt sender; sv: skicka skickat; da: sende sendt; de: senden gesendet schicken; fr: envoyer envoyé; ru: отправить отправляю отправка отправил отсылать; uk: надіслати надсилаю надіслав відправити
bounce = en: bounce bounced bounces undeliverable rejected; nb: avvist returnert; sv: studsade; da: afvist; de: unzustellbar abgelehnt; fr: rejeté; ru: отклонено отклонен вернулось недоставлено; uk: відхилено повернулося
spam = en: spam junk; nb: søppelpost spam; sv: skräppost; da: spam; de: spam; fr: spam indésirable; ru: спам; uk: спам
attachment = en: attachment attachments attached; nb: vedlegg vedlagt; sv: bilaga bifogad; da: vedhæftet bilag; de: anhang anhänge; fr: pièce jointe; ru: вложение вложения приложение; uk: вкладення
printer = en: printer printers; nb: skriver skrivar skriveren printer; nn: skrivar; sv: skrivare; da: printer; de: drucker; fr: imprimante; ru: принтер мфу; uk: принтер
print = en: print printing prints printed printout; nb: utskrift utskriften printe; sv: utskrift; da: udskrift udskrive; de: drucken ausdruck; fr: imprimer impression; ru: печать печатает печатать распечатать распечатка; uk: друк друкує друкувати роздрукувати
blank = en: blank empty white; nb: blank blanke tom tomme hvite; sv: tom tomma blanka; da: tom tomme blanke; de: leer leere; fr: vide vierge blanche; ru: пустые пустой пустая белые чистые; uk: порожні порожній чисті білі
page = en: page pages sheet sheets; nb: side sider ark; sv: sida sidor; da: side sider; de: seite seiten blatt; fr: page pages feuille; ru: страница страницы; uk: сторінка сторінки аркуш
toner = en: toner cartridge ink; nb: toner blekk patron; sv: toner bläck; da: toner blæk; de: toner tinte patrone; fr: toner cartouche encre; ru: тонер картридж чернила; uk: тонер картридж
paper = en: paper jam jammed; nb: papir papirstopp; sv: papper pappersstopp; da: papir papirstop; de: papier papierstau; fr: papier bourrage; ru: бумага бумагу замятие зажевал; uk: папір зминання
scanner = en: scanner scan scanning scanned; nb: skanner skanne skanning; sv: skanner skanna; da: scanner scanne; de: scanner scannen; fr: scanner numériser; ru: сканер сканировать сканирование скан; uk: сканер сканувати
driver = en: driver drivers; nb: driver driveren drivere; sv: drivrutin; da: driver; de: treiber; fr: pilote; ru: драйвер драйвера; uk: драйвер
update = en: update updates updated updating upgrade upgraded patch; nb: oppdatering oppdatere oppdatert oppgradere; sv: uppdatering uppdatera; da: opdatering opdatere; de: aktualisierung update aktualisieren; fr: actualiser; ru: обновление обновления обновить обновил апдейт; uk: оновлення оновити оновив
install = en: install installed installing installation reinstall; nb: installere installert installasjon; sv: installera installation; da: installere installation; de: installieren installation; fr: installer installation; ru: установить установка установил переустановить инсталлировать; uk: встановити встановлення інсталювати
login = en: login signin logon; nb: innlogging logge logg pålogging; sv: inloggning logga; da: login logge; de: anmeldung anmelden einloggen; fr: identifiant; ru: вход войти логин авторизация залогиниться; uk: вхід увійти логін авторизація
account = en: account accounts user username profile; nb: konto kontoen bruker brukernavn profil; nn: brukar; sv: konto användare; da: konto bruger; de: konto benutzer; fr: compte utilisateur; ru: учетная запись аккаунт пользователь профиль; uk: обліковий запис акаунт користувач
lock = en: locked lock lockout blocked; nb: låst sperret låse sperre; sv: låst spärrad; da: låst spærret; de: gesperrt gesperrt; fr: verrouillé bloqué; ru: заблокирован заблокирована блокировка заблокировали; uk: заблоковано заблокований блокування
twofactor = en: 2fa mfa authenticator otp code codes; nb: tofaktor engangskode kode koden; sv: tvåfaktor kod; da: tofaktor kode; de: zwei-faktor code; fr: code; ru: двухфакторная код кода коды; uk: двофакторна код
phone = en: phone mobile smartphone telephone; nb: telefon mobil mobilen; sv: telefon mobil; da: telefon mobil; de: telefon handy; fr: téléphone portable; ru: телефон смартфон мобильный; uk: телефон смартфон
invoice = en: invoice invoices bill billing billed; nb: faktura fakturaen fakturaer regning; sv: faktura räkning; da: faktura regning; de: rechnung rechnungen; fr: facture; ru: счет счета счёт инвойс; uk: рахунок рахунку
payment = en: payment paid pay charge charged; nb: betaling betalt betale trekk trukket; sv: betalning betalt; da: betaling betalt; de: zahlung bezahlt abbuchung; fr: paiement payé; ru: оплата оплатил оплатили платеж списание списали; uk: оплата платіж
twice = en: twice double duplicate duplicated; nb: dobbelt duplikat; sv: dubbel; da: dobbelt; de: doppelt zweimal; fr: double; ru: дважды двойное дубль дубликат; uk: двічі подвійне
subscription = en: subscription plan licence license licenses seat seats; nb: abonnement lisens lisenser; sv: abonnemang licens; da: abonnement licens; de: abonnement lizenz; fr: abonnement licence; ru: подписка лицензия лицензии тариф; uk: підписка ліцензія
cancel = en: cancel cancelled cancellation terminate; nb: kansellere avslutte oppsigelse; sv: avsluta; da: opsige; de: kündigen kündigung; fr: annuler résilier; ru: отменить отмена отказаться расторгнуть; uk: скасувати скасування
refund = en: refund refunded money back; nb: refusjon tilbakebetaling refundere; sv: återbetalning; da: refusion tilbagebetaling; de: rückerstattung erstatten; fr: remboursement rembourser; ru: возврат вернуть деньги; uk: повернення гроші
vpn = en: vpn tunnel; nb: vpn; ru: впн; uk: впн
connect = en: connect connection connected connecting disconnect disconnects dropped drops; nb: koble kobler tilkobling forbindelse tilkoblet kobles; sv: ansluta anslutning; da: forbinde forbindelse; de: verbindung verbinden getrennt; fr: connexion connecter; ru: подключение подключиться соединение подключается отключается разрывается обрывается; uk: підключення зєднання підключитися
network = en: network wifi wi-fi wlan wireless internet; nb: nettverk wifi trådløst internett; sv: nätverk trådlöst; da: netværk trådløst; de: netzwerk wlan; fr: réseau wifi; ru: сеть интернет вайфай wifi; uk: мережа інтернет
slow = en: slow slowly sluggish lag laggy; nb: treg tregt sakte; sv: långsam seg; da: langsom; de: langsam; fr: lent lente lenteur; ru: медленно медленный тормозит долго; uk: повільно повільний гальмує
crash = en: crash crashes crashed freezes frozen freeze hang hangs; nb: krasjer krasj henger fryser; sv: kraschar hänger; da: crasher fryser; de: absturz abstürzt stürzt hängt; fr: plante crash fige; ru: вылетает падает зависает виснет крашится; uk: вилітає зависає падає
error = en: error errors fault failure failed fails; nb: feil feilmelding feilet; sv: fel felmeddelande; da: fejl fejlmeddelelse; de: fehler fehlermeldung; fr: erreur échec; ru: ошибка ошибку ошибки сбой; uk: помилка помилку помилки збій
calendar = en: calendar calendars meeting meetings invitation invite; nb: kalender kalenderen møte møter invitasjon; sv: kalender möte inbjudan; da: kalender møde invitation; de: kalender besprechung termin einladung; fr: calendrier réunion invitation; ru: календарь встреча встречи приглашение; uk: календар зустріч запрошення
share = en: share shared sharing; nb: dele delt deling; sv: dela delad; da: dele delt; de: teilen freigegeben freigabe; fr: partager partagé; ru: общий общего поделиться расшарить; uk: спільний поділитися
permission = en: permission permissions access denied rights; nb: tilgang tillatelse rettigheter nektet; sv: behörighet åtkomst nekad; da: adgang rettigheder nægtet; de: berechtigung zugriff verweigert; fr: autorisation accès refusé droits; ru: доступ права разрешение отказано; uk: доступ права дозвіл відмовлено
folder = en: folder folders directory drive; nb: mappe mapper mappen katalog; sv: mapp mappar; da: mappe mapper; de: ordner verzeichnis; fr: dossier répertoire; ru: папка папку папки каталог; uk: папка тека
file = en: file files document documents; nb: fil filer filen dokument; sv: fil filer dokument; da: fil filer dokument; de: datei dateien dokument; fr: fichier document; ru: файл файлы документ; uk: файл документ
sync = en: sync syncing synchronise synchronize synchronisation; nb: synkronisering synkronisere synk synkroniserer; sv: synkronisering synka; da: synkronisering synkronisere; de: synchronisierung synchronisieren; fr: synchronisation synchroniser; ru: синхронизация синхронизируется синхронизировать; uk: синхронізація синхронізувати
backup = en: backup backups restore restored; nb: sikkerhetskopi backup gjenopprette; sv: säkerhetskopia; da: sikkerhedskopi gendanne; de: sicherung backup wiederherstellen; fr: sauvegarde restaurer; ru: резервная копия бэкап; uk: резервна копія бекап
screen = en: screen monitor display; nb: skjerm skjermen; sv: skärm; da: skærm; de: bildschirm monitor; fr: écran; ru: экран монитор дисплей; uk: екран монітор
laptop = en: laptop notebook computer pc machine; nb: bærbar pc datamaskin maskin; sv: bärbar dator; da: bærbar computer; de: laptop rechner computer; fr: ordinateur portable; ru: ноутбук компьютер ноут пк; uk: ноутбук компютер
keyboard = en: keyboard mouse; nb: tastatur mus; sv: tangentbord mus; da: tastatur mus; de: tastatur maus; fr: clavier souris; ru: клавиатура мышь; uk: клавіатура миша
certificate = en: certificate certificates ssl tls https; nb: sertifikat sertifikatet; sv: certifikat; da: certifikat; de: zertifikat; fr: certificat; ru: сертификат сертификата; uk: сертифікат
expired = en: expired expire expires expiry outdated; nb: utløpt utløper; sv: utgått går ut; da: udløbet; de: abgelaufen läuft; fr: expiré expire; ru: истек истёк истекает просрочен; uk: закінчився минув прострочений
browser = en: browser chrome firefox edge safari; nb: nettleser nettlesar; sv: webbläsare; da: browser; de: browser; fr: navigateur; ru: браузер хром; uk: браузер
website = en: website site portal homepage; nb: nettside nettsted portal; sv: webbplats; da: hjemmeside; de: webseite portal; fr: site portail; ru: сайт портал; uk: сайт портал
app = en: app application program software client; nb: app appen program programmet applikasjon; sv: app program; da: app program; de: app anwendung programm; fr: application logiciel; ru: приложение программа программу; uk: застосунок програма додаток
export = en: export exported exporting; nb: eksport eksportere; sv: export exportera; da: eksport eksportere; de: export exportieren; fr: export exporter; ru: экспорт выгрузка выгрузить экспортировать; uk: експорт вивантаження
import = en: import imported importing upload uploaded; nb: import importere opplasting; sv: import importera; da: import uploade; de: import importieren hochladen; fr: import importer téléverser; ru: импорт загрузка загрузить импортировать; uk: імпорт завантаження
download = en: download downloaded downloading; nb: nedlasting; sv: nedladdning; da: download hente; de: herunterladen download; fr: télécharger; ru: скачать скачивание; uk: завантажити
report = en: report reports; nb: rapport rapporten rapporter; sv: rapport; da: rapport; de: bericht report; fr: rapport; ru: отчет отчёт отчеты; uk: звіт
csv = en: csv excel spreadsheet xlsx; nb: regneark; sv: kalkylblad; da: regneark; de: tabelle; fr: tableur; ru: таблица эксель; uk: таблиця
encoding = en: encoding characters garbled gibberish symbols; nb: tegnsett tegn rare; sv: teckenkodning tecken; da: tegnsæt tegn; de: kodierung zeichen; fr: encodage caractères; ru: кодировка кракозябры символы иероглифы знаки; uk: кодування символи
language = en: language languages; nb: språk; sv: språk; da: sprog; de: sprache; fr: langue; ru: язык языке; uk: мова мові
date = en: date dates timezone; nb: dato tidssone; sv: datum tidszon; da: dato tidszone; de: datum zeitzone; fr: date fuseau; ru: дата часовой пояс; uk: дата часовий пояс
notification = en: notification notifications alert alerts; nb: varsel varsler varsling; sv: avisering avisering; da: notifikation; de: benachrichtigung; fr: notification; ru: уведомление уведомления оповещение; uk: сповіщення
link = en: link links url; nb: lenke lenken lenker; sv: länk; da: link; de: link; fr: lien; ru: ссылка ссылку ссылки; uk: посилання
signature = en: signature; nb: signatur; sv: signatur; da: signatur; de: signatur; fr: signature; ru: подпись; uk: підпис
sms = en: sms; nb: sms tekstmelding; sv: sms; da: sms; de: sms; fr: sms; ru: смс sms; uk: смс
space = en: storage quota space disk; nb: lagring kvote plass disk lagringsplass; sv: lagring kvot utrymme; da: lagring kvote plads; de: speicher kontingent speicherplatz; fr: stockage quota espace; ru: переполнен заполнен место квота хранилище диск; uk: переповнений місце квота сховище
camera = en: camera webcam microphone mic audio sound; nb: kamera mikrofon lyd; sv: kamera mikrofon ljud; da: kamera mikrofon lyd; de: kamera mikrofon ton; fr: caméra micro son; ru: камера микрофон звук; uk: камера мікрофон звук
video = en: video call calls teams zoom; nb: video samtale; sv: video samtal; da: video opkald; de: video anruf; fr: vidéo appel; ru: видео звонок созвон; uk: відео дзвінок
order = en: order orders delivery shipping shipment; nb: bestilling ordre levering; sv: beställning leverans; da: bestilling levering; de: bestellung lieferung; fr: commande livraison; ru: заказ доставка; uk: замовлення доставка
address = en: address; nb: adresse; sv: adress; da: adresse; de: adresse; fr: adresse; ru: адрес адресу; uk: адреса
api = en: api webhook token tokens integration; nb: api integrasjon; sv: api; da: api; de: api schnittstelle; fr: api jeton; ru: api токен интеграция; uk: api токен інтеграція
server = en: server servers; nb: server tjener; sv: server; da: server; de: server; fr: serveur; ru: сервер; uk: сервер
outlook = en: outlook; ru: аутлук; uk: аутлук
""".strip()
