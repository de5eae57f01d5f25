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
