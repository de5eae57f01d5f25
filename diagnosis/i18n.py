"""Japanese-first UI messages with English beside them, without a gettext toolchain.

Messages live in one table so a missing translation is a test failure, not a blank label.
"""

from __future__ import annotations

from flask import Flask, current_app, g, request, session

LANGS = ("ja", "en")

MESSAGES: dict[str, tuple[str, str]] = {
    # common
    "app.name": ("定着診断 Teichaku", "Teichaku adoption diagnosis"),
    "lang.switch": ("English", "日本語"),
    "lang.switch_label": ("Switch to English", "日本語に切り替え"),
    "nav.login": ("ログイン", "Log in"),
    "nav.logout": ("ログアウト", "Log out"),
    "nav.home": ("ホーム", "Home"),
    "error.404.title": ("ページが見つかりません", "Page not found"),
    "error.404.body": (
        "リンクが正しいかご確認ください。アンケートのリンクはご案内のメールやチャットに記載されています。",
        "Please check the link. The survey link is in the e-mail or chat message you received.",
    ),
    "error.403.title": ("このページを表示する権限がありません", "You may not see this page"),
    "error.413.title": ("送信内容が大きすぎます", "What you sent is too large"),
    "error.413.body": (
        "回答の文字数を減らして、もう一度お試しください。",
        "Please shorten your answers and try again.",
    ),
    "error.400.title": ("リクエストを処理できませんでした", "The request could not be processed"),
    "error.400.body": (
        "ページを再読み込みして、もう一度お試しください。",
        "Please reload the page and try again.",
    ),
    "error.429.title": ("アクセスが集中しています", "Too many requests"),
    "error.429.body": (
        "少し時間をおいてから、もう一度お試しください。",
        "Please wait a moment and try again.",
    ),
    "error.503.title": ("データベースに一時的に接続できません", "The database is unavailable for a moment"),
    "error.503.body": (
        "保存済みのデータは失われていません。少し待ってから、ページを再読み込みしてください。",
        "Nothing stored has been lost. Please wait a moment and reload the page.",
    ),
    "error.500.title": ("エラーが発生しました", "Something went wrong"),
    "error.500.body": (
        "お手数ですが、時間をおいて再度お試しください。",
        "Please try again in a little while.",
    ),
    # survey
    "survey.anonymous": (
        "このアンケートは匿名です。IPアドレスや端末の情報は保存しません。",
        "This survey is anonymous. No IP address or device information is stored.",
    ),
    "survey.required": ("必須", "Required"),
    "survey.optional": ("任意", "Optional"),
    "survey.submit": ("回答を送信する", "Submit my answers"),
    "survey.errors_summary": (
        "入力内容を確認してください。エラーのある項目があります。",
        "Please check your answers: some need your attention.",
    ),
    "survey.chars_max": ("{n}文字以内", "Up to {n} characters"),
    "survey.likert_legend": ("1 = まったくそう思わない、5 = とてもそう思う",
                             "1 = strongly disagree, 5 = strongly agree"),
    "survey.thanks.title": ("ご回答ありがとうございました", "Thank you for your answers"),
    "survey.thanks.body": (
        "いただいた回答は匿名で集計し、生成AIを使いやすくする取り組みに活かします。このページは閉じて構いません。",
        "Your answers are combined anonymously and used to make the AI tool easier to use. "
        "You may close this page.",
    ),
    "survey.closed.title": ("このアンケートは終了しました", "This survey has closed"),
    "survey.closed.body": (
        "回答期間は {date} に終了しました。ご協力ありがとうございました。",
        "Answers were accepted until {date}. Thank you for your interest.",
    ),
    "survey.closed.body_nodate": (
        "回答の受付は終了しました。ご協力ありがとうございました。",
        "This survey is no longer accepting answers. Thank you for your interest.",
    ),
    "survey.scheduled.title": ("このアンケートはまだ始まっていません", "This survey has not opened yet"),
    "survey.scheduled.body": (
        "回答は {date} から受け付けます。その日以降にもう一度このリンクを開いてください。",
        "Answers are accepted from {date}. Please open this link again then.",
    ),
    # a database fault while storing (issue 19): nothing lost, press again
    "survey.save_failed.title": (
        "回答を保存できませんでした。内容はそのままです。",
        "Your answers could not be saved. They are still on this page.",
    ),
    "survey.save_failed.body": (
        "一時的な障害のため保存できませんでした。少し待ってからもう一度「回答を送信する」を押してください。"
        "二重に登録されることはありません。",
        "A temporary fault kept us from saving them. Please wait a moment and press “Submit my answers” again. "
        "They will not be stored twice.",
    ),
    # survey abuse (issue 16): limits and personal links
    "survey.limited.title": (
        "短時間に送信が続いたため、受付を一時的に止めています",
        "Several answers were sent in a short time, so we have paused for a moment",
    ),
    "survey.limited.body": (
        "この端末またはネットワークから、このアンケートへの送信が短時間に続きました。入力した回答はこのページに残っています。"
        "約{minutes}分後に、もう一度「回答を送信する」を押してください。",
        "Several answers to this survey came from this device or network in a short time. "
        "Your answers are still on this page: please press “Submit my answers” again in about {minutes} min.",
    ),
    "survey.limited_form.title": (
        "アクセスが集中しています",
        "This survey was opened many times",
    ),
    "survey.limited_form.body": (
        "この端末またはネットワークから、このアンケートが短時間に何度も開かれました。"
        "お手数ですが、約{minutes}分後にもう一度このリンクを開いてください。",
        "This survey was opened many times from this device or network in a short time. "
        "Please open the link again in about {minutes} min.",
    ),
    "survey.invitation.notice": (
        "これはあなた専用の回答リンクで、一度だけ使えます。回答はリンクと結び付けずに保存するため、"
        "だれの回答かはわかりません。",
        "This is your personal link and it works once. Your answers are stored without any tie to "
        "the link, so no one can tell which answers are yours.",
    ),
    "survey.invitation_used.title": (
        "この回答用リンクはすでに使われています",
        "This link has already been used",
    ),
    "survey.invitation_used.body": (
        "このリンクからの回答は受け付け済みです。ご協力ありがとうございました。"
        "回答した覚えがない場合は、アンケートの担当者にお問い合わせください（回答内容がだれのものかは、担当者にもわかりません）。",
        "An answer has already been sent with this link. Thank you for taking part. "
        "If you did not send it, please contact the person running the survey "
        "(they cannot see whose answers are whose either).",
    ),
    "survey.invitation_only.title": (
        "このアンケートは個人用のリンクからご回答ください",
        "Please answer this survey through your personal link",
    ),
    "survey.invitation_only.body": (
        "一人一回の回答とするため、このアンケートは一人ひとりに別々のリンクを配布しています。"
        "ご案内のメールやチャットに記載された、あなた専用のリンクを開いてください。",
        "To keep to one answer per person, everyone has received a link of their own. "
        "Please open the personal link in the e-mail or chat message you received.",
    ),
    # dashboard
    "dashboard.invitation_only": (
        "このアンケートは個人用リンク（teichaku invite）からのみ回答を受け付けます。下の共通リンクは使えません。",
        "This survey accepts answers only through personal links (teichaku invite); the shared link "
        "below is refused.",
    ),
    "validation.required": ("この項目は必須です。", "This question needs an answer."),
    "validation.choice": ("選択肢から選んでください。", "Please choose one of the options."),
    "validation.too_long": (
        "{max}文字以内で入力してください（現在{n}文字）。",
        "Please keep it to {max} characters (currently {n}).",
    ),
    "validation.csrf": (
        "フォームの有効期限が切れました。もう一度送信してください。",
        "The form expired. Please submit it again.",
    ),
    "validation.nonce": (
        "フォームが正しくありません。ページを再読み込みしてください。",
        "The form is not valid. Please reload the page.",
    ),
    "validation.max_choices": (
        "選べるのは{max}つまでです（現在{n}つ選んでいます）。",
        "Please choose no more than {max} (you chose {n}).",
    ),
    "validation.exclusive": (
        "「{option}」はほかの選択肢と一緒には選べません。",
        "\u201c{option}\u201d cannot be combined with other options.",
    ),
    "survey.choose_up_to": ("{max}つまで選べます", "Choose up to {max}"),
    "survey.chosen_count": ("{n} / {max} 選択中", "{n} of {max} chosen"),
    "survey.too_many_now": (
        "選べるのは{max}つまでです。どれかを外してください。",
        "You can choose up to {max}. Please untick one.",
    ),
    # login
    "login.failed": (
        "ログインできませんでした。メールアドレス、パスワード、確認コードをご確認のうえ、"
        "もう一度お試しください。失敗が続いた場合は、少し時間をおいてからお試しください。",
        "You could not be logged in. Please check the e-mail address, the password and the code, "
        "and try again. After several failed attempts, wait a little before trying again.",
    ),
    "login.code.title": ("確認コード", "Verification code"),
    "login.code.help": (
        "2段階認証を設定している場合は、認証アプリに表示されている6桁のコードを入力してください。",
        "If you use two-step verification, enter the 6-digit code shown in your authenticator app.",
    ),
    "login.code.not_enrolled": (
        "2段階認証を設定していない場合、この画面はメールアドレスまたはパスワードが正しくありませんでした"
        "という意味です。失敗が続いた場合は、少し時間をおいてからお試しください。",
        "If you do not use two-step verification, this page means the e-mail address or password "
        "was not correct. After several failed attempts, wait a little before trying again.",
    ),
    "login.code.label": ("確認コード（6桁）", "Code (6 digits)"),
    "login.code.submit": ("確認する", "Verify"),
    "login.back": ("ログイン画面に戻る", "Back to the login page"),
    # passwords
    "password.too_short": (
        "パスワードは{n}文字以上にしてください。",
        "The password needs at least {n} characters.",
    ),
    "password.blank": (
        "空白だけのパスワードは使えません。",
        "A password of only spaces cannot be used.",
    ),
    "password.weak": (
        "このパスワードは推測されやすいため使えません。同じ文字の繰り返し、連続した数字、よく使われる語、"
        "メールアドレスや名前を避け、無関係な単語をいくつか組み合わせてください。",
        "This password is too easy to guess. Avoid repeated characters, sequences of digits, common "
        "words and your e-mail address or name; combine a few unrelated words instead.",
    ),
    "validation.control_chars": (
        "使用できない制御文字が含まれています。",
        "The text contains control characters that are not allowed.",
    ),
    # anonymity (diagnosis.recommend.anonymity): results in steps, comment filters, exports
    "anon.received": ("受け付けた回答数（集計待ちを含む）",
                      "Responses received (including those not yet in the results)"),
    "anon.included": ("集計に含まれる回答", "Responses in the results"),
    "anon.steps": (
        "集計は、新しい回答が{m}件以上そろうたびにまとめて更新します。一人ずつの変化から回答者が分からないようにするためです。",
        "Results are updated only when at least {m} new responses have arrived, so that no one person's "
        "answers can be read from a change.",
    ),
    "anon.waiting": (
        "集計に含まれる回答は{included}件です。あと{next}件の回答がそろうと更新されます。",
        "{included} responses are in the results; they are updated once {next} more have arrived.",
    ),
    "anon.closed_waiting": (
        "最後に届いた{waiting}件の回答は{m}件に満たないため、匿名性を守るために集計に含めていません。",
        "The last {waiting} responses are fewer than {m}, so they stay out of the results to protect anonymity.",
    ),
    "anon.heatmap_fields": (
        "役職・年代・勤続年数の欄は設問への回答だけで計算しています（自由記述は部門ごとにだけ集計します）。"
        "各セルは、そのグループに新しい回答が{m}件以上そろったときにだけ更新されます。",
        "Position, age and tenure cells use the rated questions only (comments are grouped by department "
        "only). A cell changes only when at least {m} new responses have arrived in its group.",
    ),
    "anon.comments_note": (
        "コメントは部門でだけ絞り込めます（回答者が{mc}人以上の部門）。コメントは部門ごとに{m}件の回答がそろうたびに加わり、"
        "この調査ごとに固定したランダムな順に並びます。氏名・連絡先などは伏せて表示しています。",
        "Comments can be filtered by department only (departments with at least {mc} respondents). They are "
        "added each time {m} answers from a department have arrived, and listed in a random order fixed for "
        "this survey. Names and contact details are hidden.",
    ),
    "anon.refinement_hidden": (
        "この条件に当てはまる回答者、または当てはまらない回答者が{m}人未満のため、アンケートのコメントは表示しません。"
        "条件を広げてください。",
        "Fewer than {m} respondents match these filters, or fewer than {m} do not, so survey comments are "
        "not shown. Please widen the filters.",
    ),
    "anon.held_back": (
        "このほか{n}件のコメントは、同じ部門の回答が{m}件そろうまで表示を待っています。",
        "{n} more comments wait until {m} answers from their department have arrived.",
    ),
    "anon.responses_csv_consultants": (
        "回答者ごとのデータ（CSV）は、コンサルタントだけが出力できます。",
        "Per-person data (CSV) can be downloaded by consultants only.",
    ),
    "anon.csv_hidden": ("（非表示：少人数）", "(hidden: small group)"),
    # importing answers from CSV / Excel files (diagnosis.store.tabular, diagnosis.store.csv_io); the English
    # text is also what `teichaku import-responses` prints
    "import.where.line": ("{line}行目", "line {line}"),
    "import.where.cell": ("{line}行目・{column}", "line {line}, {column}"),
    "import.column": ("{n}列目（{header}）", "column {n} ({header})"),
    "import.column.bare": ("{n}列目", "column {n}"),
    "import.column.letter": ("{n}列（{header}）", "column {n} ({header})"),  # a workbook: B列
    "import.column.letter_bare": ("{n}列", "column {n}"),
    "import.encoding.utf-8": ("UTF-8", "UTF-8"),
    "import.encoding.utf-8-sig": ("UTF-8（BOM付き）", "UTF-8 with BOM"),
    "import.encoding.cp932": ("Shift_JIS（CP932）", "Shift_JIS (CP932)"),
    "import.encoding.utf-16-le": ("UTF-16 LE（BOM付き）", "UTF-16 LE with BOM"),
    "import.encoding.utf-16-be": ("UTF-16 BE（BOM付き）", "UTF-16 BE with BOM"),
    "import.encodings_tried": (
        "BOMで判別できるUTF-8・UTF-16、BOMなしのUTF-8、Shift_JIS（CP932）",
        "UTF-8 or UTF-16 by their byte-order mark, UTF-8 without one, Shift_JIS (CP932)",
    ),
    "import.format.csv": ("CSV（カンマ区切り、{encoding}）", "CSV (comma-separated, {encoding})"),
    "import.format.tsv": ("タブ区切りテキスト（{encoding}）", "tab-separated text ({encoding})"),
    "import.format.xlsx": ("Excelブック（.xlsx）、シート「{sheet}」", "Excel workbook (.xlsx), sheet '{sheet}'"),
    "import.undecodable": (
        "文字コードを判別できません（試したもの：{tried}）。この行の{col}バイト目（ファイルの{pos}バイト目）の"
        "0x{byte}は{encoding}として読めません（ほかの文字コードではさらに手前で読めなくなります）。"
        "Excelで「CSV UTF-8（コンマ区切り）」または「Excelブック（.xlsx）」として保存し直してください",
        "the file is not text in any encoding tried ({tried}): byte 0x{byte} at byte {col} of the line "
        "(byte {pos} of the file) is not valid {encoding}, the encoding that read furthest; save it from "
        "Excel as 'CSV UTF-8 (comma delimited)' or as an Excel workbook (.xlsx)",
    ),
    "import.undecodable_both": (
        "文字コードを判別できません（試したもの：{tried}）。この行の{col}バイト目（ファイルの{pos}バイト目）の"
        "0x{byte}はUTF-8でもShift_JIS（CP932）でも読めません。Excelで「CSV UTF-8（コンマ区切り）」または"
        "「Excelブック（.xlsx）」として保存し直してください",
        "the file is not text in any encoding tried ({tried}): byte 0x{byte} at byte {col} of the line "
        "(byte {pos} of the file) is valid in neither UTF-8 nor Shift_JIS (CP932); save it from Excel as "
        "'CSV UTF-8 (comma delimited)' or as an Excel workbook (.xlsx)",
    ),
    "import.bad_bom": (
        "ファイルは{encoding}のBOMで始まっていますが、この行の{col}バイト目（ファイルの{pos}バイト目）の"
        "0x{byte}が{encoding}として読めません",
        "the file starts with the byte-order mark of {encoding}, but byte 0x{byte} at byte {col} of the "
        "line (byte {pos} of the file) is not valid {encoding}",
    ),
    "import.old_xls": (
        "古い形式のExcelファイル（.xls）か、パスワード付きのブックです。パスワードを外して"
        "「Excelブック（.xlsx）」または「CSV UTF-8（コンマ区切り）」で保存し直してください",
        "this is an Excel 97–2003 workbook (.xls) or a password-protected one; remove the password and "
        "save it as an Excel workbook (.xlsx) or as 'CSV UTF-8 (comma delimited)'",
    ),
    "import.not_xlsx": (
        "Excelブック（.xlsx）として読み取れません。Excelで開けるか確認し、「Excelブック（.xlsx）」"
        "または「CSV UTF-8（コンマ区切り）」で保存し直してください",
        "the file cannot be read as an Excel workbook (.xlsx); check that Excel opens it and save it "
        "as an Excel workbook (.xlsx) or as 'CSV UTF-8 (comma delimited)'",
    ),
    "import.xlsx_too_large": (
        "ブックを展開すると大きすぎます（{mb} MBまで）。ファイルを分けてください",
        "the workbook is too large once unpacked (at most {mb} MB); split the file",
    ),
    "import.no_sheet": ("ブックにワークシートがありません", "the workbook has no worksheet"),
    "import.broken_sheet": (
        "ワークシートのこの行から先を読み取れません",
        "the worksheet cannot be read from this row on",
    ),
    "import.empty": ("ファイルが空です", "the file is empty"),
    "import.no_rows": ("見出し行だけで、回答の行がありません", "the file has a header but no rows"),
    "import.malformed_csv": ("CSVの形式が正しくありません（{detail}）", "malformed CSV: {detail}"),
    "import.too_many_rows": ("{max:,}行を超えています。ファイルを分けてください",
                             "more than {max:,} rows; split the file"),
    "import.duplicate_header": ("重複した列です：{first}と同じ見出しです",
                                "duplicate column: same header as {first}"),
    "import.duplicate_item": ("重複した列です：{other}がすでに項目「{item}」です",
                              "duplicate column: {other} is already item '{item}'"),
    "import.no_items": (
        "見出しに質問票「{questionnaire}」の項目がありません。見出しには項目ID（`teichaku csv-template` を参照）"
        "か質問文を使ってください",
        "the header names no item of questionnaire '{questionnaire}'; use item ids (see "
        "`teichaku csv-template`) or the question texts",
    ),
    "import.missing_column": ("必須項目「{item}」の列がありません", "required item '{item}' has no column"),
    "import.too_many_values": ("この行には値が{n}個ありますが、見出しは{m}列です",
                               "the row has {n} values but the header only {m} columns"),
    "import.control_chars": ("制御文字が含まれています", "contains control characters"),
    "import.accepted": (
        "{codes} のいずれか、または選択肢の文言（日本語か英語）を入力してください",
        "use one of {codes} or an option's text in Japanese or English",
    ),
    "import.accepted_multi": (
        "{codes} のいずれか、または選択肢の文言（日本語か英語）を入力し、複数なら「;」で区切ってください",
        "use one of {codes} or an option's text in Japanese or English, several separated by ';'",
    ),
    "import.no_dont_know": ("（この項目に「わからない」はありません）",
                            " ('don't know' is not offered for this item)"),
    "import.not_option": ("「{value}」は「{item}」の選択肢にありません{hint}。{accepted}",
                          "{value!r} is not an option of '{item}'{hint}; {accepted}"),
    "import.too_many_choices": ("{n}個選ばれていますが、「{item}」は{max}個までです：「{value}」",
                                "{n} choices; '{item}' allows at most {max}: {value!r}"),
    "import.exclusive_choice": ("「{code}」はほかの選択肢と一緒には選べません：「{value}」",
                                "'{code}' cannot be combined with other choices: {value!r}"),
    "import.text_too_long": ("{n}文字あります。「{item}」は{max}文字までです",
                             "text is {n} characters; '{item}' allows at most {max}"),
    "import.required_empty": ("「{item}」は必須ですが空欄です", "'{item}' is required but empty"),
    "import.bad_date": ("{problem}：「{value}」", "{problem}: {value!r}"),
    "import.not_a_date": (
        "日付ではありません。YYYY-MM-DD の形で入力してください（Formsの「2026/11/02 9:14:03」のような日時も使えます）",
        "not a date: use YYYY-MM-DD (a Forms timestamp like '2026/11/02 9:14:03' is also accepted)",
    ),
    "import.invalid_date": ("存在しない日付です（{detail}）", "not a valid date ({detail})"),
    "import.future_date": ("未来の日付です", "the date is in the future"),
    "import.before_open": ("調査の開始日（{day}）より前の日付です",
                           "the date is before the campaign opened ({day})"),
    "import.after_close": ("調査の終了日（{day}）より後の日付です",
                           "the date is after the campaign closed ({day})"),
}


def current_lang() -> str:
    """The language of the current request ('ja' unless English was chosen)."""
    lang = getattr(g, "lang", None)
    if lang in LANGS:
        return lang
    arg = request.args.get("lang") if request else None
    if arg in LANGS:
        return arg
    stored = session.get("lang") if request else None
    if stored in LANGS:
        return stored
    return current_app.config.get("DEFAULT_LANGUAGE", "ja")


def gettext(key: str, lang: str | None = None, **kwargs: object) -> str:
    """The message for ``key`` in ``lang`` (default: the request's), formatted with kwargs."""
    ja, en = MESSAGES[key]
    text = en if (lang or current_lang()) == "en" else ja
    return text.format(**kwargs) if kwargs else text


def init_app(app: Flask) -> None:
    """Expose ``_`` and ``lang`` to templates and remember an explicit language choice."""

    @app.before_request
    def _pick_language() -> None:
        arg = request.args.get("lang")
        if arg in LANGS:
            g.lang = arg
            if not request.path.startswith("/s/"):
                session["lang"] = arg

    @app.context_processor
    def _inject() -> dict:
        return {"_": gettext, "t": pick, "lang": current_lang()}


def pick(ja: str, en: str, lang: str | None = None) -> str:
    """Choose between a Japanese and an English text written side by side in a template."""
    return en if (lang or current_lang()) == "en" else ja


class LazyPick:
    """A ja/en pair resolved when rendered, for messages defined at import time."""

    def __init__(self, ja: str, en: str) -> None:
        self.ja, self.en = ja, en

    def __str__(self) -> str:
        try:
            return pick(self.ja, self.en)
        except RuntimeError:  # outside a request
            return self.ja

    def __mod__(self, other: object) -> str:
        return str(self) % other


class Message(str):
    """A message of the table that is also a ``str``: its English text, which the CLI prints and
    logs record; :meth:`in_lang` gives it in either language. Fields that are messages themselves
    (a column name inside an error) follow the language asked for."""

    key: str
    fields: dict[str, object]

    def __new__(cls, key: str, **fields: object) -> Message:
        self = super().__new__(cls, _render(key, "en", fields))
        self.key, self.fields = key, fields
        return self

    def in_lang(self, lang: str) -> str:
        """The message in ``lang`` ('ja' or 'en')."""
        return _render(self.key, lang, self.fields)


def _render(key: str, lang: str, fields: dict[str, object]) -> str:
    values = {k: v.in_lang(lang) if isinstance(v, Message) else v for k, v in fields.items()}
    return gettext(key, lang, **values)
