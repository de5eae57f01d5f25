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
    "dashboard.rate_capped": (
        "回答数（{n}件）が従業員数（{employees}人）を上回っているため、回答率は100%と表示しています。"
        "従業員数の設定と、同じ人からの重複回答がないかをご確認ください。",
        "There are more responses ({n}) than employees ({employees}), so the response rate is shown "
        "as 100%. Please check the employee count and whether people answered more than once.",
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
