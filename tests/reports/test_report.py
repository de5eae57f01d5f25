"""The client PDF: sections, Japanese glyphs and fonts, sandboxed fetching, English, CLI."""

from __future__ import annotations

import logging
import re
import subprocess
from pathlib import Path

import pytest

from diagnosis.reports import SandboxedFetcher, find_fonts, html_to_pdf, render_report_html, render_report_pdf
from diagnosis.reports.sandbox import STATIC_DIR

from .conftest import REPORT_DATE, build

NOTE = "経営会議で研修予算の承認を得ること。\n次回の定例で部門長に結果を共有します。"


def pdf_text(pdf: bytes, tmp_path, layout: bool = False) -> str:
    path = tmp_path / "r.pdf"
    path.write_bytes(pdf)
    args = ["pdftotext", "-enc", "UTF-8"] + (["-layout"] if layout else []) + [str(path), "-"]
    return subprocess.run(args, capture_output=True, text=True, check=True).stdout


def flat(text: str) -> str:
    """Text without whitespace: pdftotext breaks Japanese lines wherever the PDF does."""
    return re.sub(r"\s+", "", text)


def fonts_of(pdf: bytes, tmp_path) -> str:
    path = tmp_path / "f.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout


@pytest.fixture
def glyph_warnings(caplog):
    """WeasyPrint warnings about missing glyphs, captured for the test to assert on."""
    caplog.set_level(logging.WARNING, logger="weasyprint")

    def found() -> list[str]:
        return [r.getMessage() for r in caplog.records
                if r.name.startswith("weasyprint") and (".notdef" in r.getMessage() or "glyph" in r.getMessage())]

    return found


def render(app, slug: str, lang: str = "ja") -> bytes:
    with app.app_context():
        return render_report_pdf(slug, lang, report_date=REPORT_DATE)


def test_japanese_report_sections_fonts_and_glyphs(app, tmp_path, glyph_warnings):
    w = build(app, note=NOTE)
    pdf = render(app, w["slug"])
    assert pdf.startswith(b"%PDF")
    text = flat(pdf_text(pdf, tmp_path))
    for heading in ("生成AI定着診断レポート", "エグゼクティブサマリー", "回答状況と利用頻度", "原因の診断",
                    "セグメント別", "従業員の声", "推奨施策と90日計画", "その他の施策と支える仕組み",
                    "コンサルタント所見", "前回調査との比較", "付録：調査と分析の方法"):
        assert heading in text, heading
    assert w["org"] in text and "第2回定着度調査" in text and "加藤コンサルタント" in text
    assert "2026-11-01" in text
    # Executive summary: the main cause and the remedy to start with.
    assert "主な原因は「教育・サポート不足」" in text
    assert "最初に取り組む施策は" in text
    assert "ここから着手" in text and "90日計画" in text and "レビュー日" in text
    for mech in ("マニュアル整備", "月次の定例会議", "ガバナンス"):
        assert mech in text
    # The consultant's note, the quotes and the suppressed segment.
    assert "経営会議で研修予算の承認を得ること。" in text
    assert "研修が一回きりで" in text
    assert "非表示" in text
    # The reason checklist page, and the earlier wave that had none.
    assert "原因の診断—本人が選んだ理由" in text and "理由のチェックリストに32人が回答しました" in text
    assert "使い方や指示（プロンプト）の書き方がわからない" in text
    assert "理由のチェックリストで本人が選んだ割合" in text  # methods: the score formula
    assert "理由のチェックリストがなかった" in text
    # Page numbers and the running header.
    assert "2/" in text and "生成AI定着診断" in text
    fonts = fonts_of(pdf, tmp_path)
    assert "BIZ-UDPGothic" in fonts and "BIZ-UDPGothic-Bold" in fonts
    for line in fonts.splitlines()[2:]:
        assert " yes " in line, f"font not embedded: {line}"
    assert glyph_warnings() == []


def test_report_is_a_tagged_pdf_read_in_order(app, tmp_path):
    """Screen readers get the structure: headings, tables, charts as figures, in reading order."""
    w = build(app, note=NOTE)
    path = tmp_path / "tagged.pdf"
    path.write_bytes(render(app, w["slug"]))
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    assert re.search(r"^Tagged:\s+yes$", info, re.M), info
    tree = subprocess.run(["pdfinfo", "-struct-text", str(path)], capture_output=True, text=True,
                          check=True).stdout
    tags = set(re.findall(r"^\s*([A-Z][A-Za-z0-9]*)\b", tree, re.M))  # text lines start with ", attributes /
    for tag in ("Document", "H1", "H2", "P", "L", "Table", "TH", "TD", "Figure"):
        assert tag in tags, (tag, sorted(tags))
    # The title and section headings are tagged as headings, with their Japanese text.
    assert re.search(r"H1 \(block\)\n(?:\s+Span \(inline\)\n)+\s+\"生成AI定着診断レポート\"", tree)
    order = [tree.find(f'"{t}"') for t in ("生成AI定着診断レポート", "エグゼクティブサマリー", "原因の診断")]
    assert -1 not in order and order == sorted(order), order


def test_suppressed_segment_has_no_numbers(app):
    w = build(app, earlier=False)
    with app.app_context():
        html = render_report_html(w["slug"], "ja", report_date=REPORT_DATE)
    # The department "IT / DX" has two respondents: named as suppressed, never with its n or scores.
    row = re.search(r"<title>情報システム・DX</title>.*?</g>(.*?)(?:<g>|</svg>)", html, re.S)
    assert row, "suppressed department row missing"
    assert "非表示" in row.group(1)
    assert not re.search(r">\s*\d+\s*<", row.group(1))
    assert "情報システム・DX (n=" not in html


def test_hostile_comment_is_text_and_nothing_is_fetched(app, tmp_path, local_server, glyph_warnings):
    base, hits = local_server
    hostile = (f'<img src="file:///etc/passwd"> <link rel="attachment" href="file:///etc/passwd"> '
               f'<img src="{base}/quote.png"> 研修がない')
    note = f'所見 <img src="{base}/note.png"> <link rel="attachment" href="file:///etc/passwd"> {base}/x'
    w = build(app, note=note, extra_comment=hostile, earlier=False)
    with app.app_context():
        html = render_report_html(w["slug"], "ja", report_date=REPORT_DATE)
        pdf = render_report_pdf(w["slug"], "ja", report_date=REPORT_DATE)
    assert "<img" not in html and "&lt;img src=" in html
    assert '<link rel="attachment"' not in html
    text = flat(pdf_text(pdf, tmp_path))
    assert '<imgsrc="file:///etc/passwd">' in text
    assert '<linkrel="attachment"href="file:///etc/passwd">' in text
    assert f"{base}/note.png" in text
    assert hits == []
    assert b"/EmbeddedFile" not in pdf and b"root:x:0:0" not in pdf
    assert b"/Subtype /Image" not in pdf
    assert glyph_warnings() == []


def test_fetcher_blocks_raw_file_and_network_urls(app, tmp_path, local_server):
    """Even unescaped HTML cannot make the renderer read files, attach them or connect anywhere."""
    base, hits = local_server
    png = ("data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk"
           "+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")
    html = f"""<html lang="ja"><head>
      <link rel="attachment" href="file:///etc/passwd">
      <link rel="stylesheet" href="{base}/style.css">
      <link rel="stylesheet" href="file:///etc/passwd">
      </head><body><p>日本語のテキスト</p>
      <img src="file:///etc/passwd"><img src="{base}/img.png"><img src="http://[::1]:9/x.png">
      <img src="file:///etc/hostname"><img src="../../../../etc/passwd">
      <object data="file:///etc/passwd"></object>
      <img src="{png}" alt="allowed">
      <a rel="attachment" href="file:///etc/passwd">a</a>
      </body></html>"""
    fonts = find_fonts()
    fetcher = SandboxedFetcher((STATIC_DIR, *fonts.directories))
    with app.app_context():
        pdf = html_to_pdf(html, fonts, fetcher)
    assert hits == []
    assert b"/EmbeddedFile" not in pdf and b"root:x:0:0" not in pdf
    assert any("/etc/passwd" in u for u in fetcher.refused)
    assert any(u.startswith(base) for u in fetcher.refused)
    # Only the data: image, the report stylesheet and the fonts were served.
    assert b"/Subtype /Image" in pdf
    assert "data:" in fetcher.served
    assert all(s == "data:" or s.startswith((str(STATIC_DIR), *map(str, fonts.directories)))
               for s in fetcher.served)
    with pytest.raises(ValueError):
        fetcher.fetch(f"{base}/direct")
    with pytest.raises(ValueError):
        fetcher.fetch("file:///etc/passwd")
    with pytest.raises(ValueError):
        fetcher.fetch((STATIC_DIR / ".." / ".." / "pyproject.toml").as_uri())
    assert fetcher.fetch((STATIC_DIR / "report.css").as_uri()).read().startswith(b"/*")
    assert hits == []


def test_english_report(app, tmp_path, glyph_warnings):
    w = build(app, note="Agree the training budget at the board.")
    pdf = render(app, w["slug"], "en")
    text = " ".join(pdf_text(pdf, tmp_path).split())
    for heading in ("Generative-AI adoption diagnosis", "Executive summary", "Responses and usage",
                    "Cause diagnosis", "What employees said", "Recommended remedy and 90-day plan",
                    "Other remedies and supporting mechanisms", "Consultant's note",
                    "Comparison with the earlier wave", "Appendix: methods"):
        assert heading in text, heading
    assert "Insufficient training and support" in text and "Start with" in text
    assert "Agree the training budget at the board." in text
    assert "Report Corp" in text
    # The methods appendix quotes the wild-set figure first, with the labellers' agreement, and the
    # share of this survey's comments the classifier left unclear.
    import json

    from diagnosis.nlp import active_backend

    models_dir = app.config["MODELS_DIR"]
    meta = json.loads((Path(models_dir) / "metadata.json").read_text(encoding="utf-8"))
    head = meta["heads"][active_backend(models_dir)]
    wild = head["eval_sets"]["wild"]
    assert f"On {wild['n']} hard evaluation statements written in real registers" in text
    assert f"macro-F1 {wild['macro_f1']:.2f}" in text and "two independent labellers agree on" in text
    assert "of this survey's comments" in text and "marked unclear" in text
    # shares corrected for the classifier's known errors, explained in two sentences, counted beside
    n_errors = head["error_model"]["n"]
    assert f"pattern of mistakes it makes on {n_errors} hard evaluation statements" in text
    assert "(corrected" in text and "Counted" in text  # the header cells wrap in the table
    assert "Reasons people chose" in text and "32 people answered the reason checklist" in text
    assert "I don't know how to use it or how to write prompts" in text
    assert "had no reason checklist" in text
    assert "BIZ-UDPGothic" in fonts_of(pdf, tmp_path)
    assert glyph_warnings() == []


def test_long_lines_and_cells_wrap_inside_the_page(app, tmp_path):
    long_ja = "生成AIの定着に向けた取り組み" * 30
    long_token = "https://example.invalid/" + "x" * 300
    w = build(app, note=f"{long_ja}\n{long_token}", extra_comment=long_ja + long_token, earlier=False)
    pdf = render(app, w["slug"])
    path = tmp_path / "wrap.pdf"
    path.write_bytes(pdf)
    bbox = subprocess.run(["pdftotext", "-bbox", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout
    page_w = float(re.search(r'<page width="([\d.]+)"', bbox).group(1))
    x_max = max(float(x) for x in re.findall(r'xMax="([\d.]+)"', bbox))
    assert x_max <= page_w - 18 * 72 / 25.4 + 1, (x_max, page_w)
    assert "xxxxxxxxxx" in pdf_text(pdf, tmp_path)


def test_methods_without_classifier_metadata(app, tmp_path):
    w = build(app, earlier=False)
    app.config["MODELS_DIR"] = str(tmp_path / "no-models")
    pdf = render(app, w["slug"])
    assert "分類器の精度指標は利用できません" in flat(pdf_text(pdf, tmp_path))


def test_too_few_responses_report_is_suppressed(app, tmp_path):
    import datetime as dt

    from diagnosis.extensions import db
    from diagnosis.workspace import create_campaign, create_organisation

    with app.app_context():
        org = create_organisation("小さな会社", 5, dt.date(2026, 6, 1))
        create_campaign(org, "tiny", "小規模調査", opens_on=dt.date(2026, 10, 1))
        db.session.commit()
    text = flat(pdf_text(render(app, "tiny"), tmp_path))
    assert "回答数が少ないため診断を表示できません" in text
    assert "エグゼクティブサマリー" not in text


def test_cli_report(app, runner, tmp_path):
    assert "report" in app.cli.commands  # registered by create_app
    w = build(app)
    out = tmp_path / "report.pdf"
    result = runner.invoke(args=["report", w["slug"], "-o", str(out), "--date", "2026-11-01"])
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(b"%PDF")
    assert "エグゼクティブサマリー" in flat(pdf_text(out.read_bytes(), tmp_path))
    en = tmp_path / "report-en.pdf"
    result = runner.invoke(args=["report", w["slug"], "-o", str(en), "--lang", "en"])
    assert result.exit_code == 0, result.output
    assert "Executive summary" in pdf_text(en.read_bytes(), tmp_path)
    missing = runner.invoke(args=["report", "no-such-campaign", "-o", str(tmp_path / "x.pdf")])
    assert missing.exit_code != 0 and "no campaign" in missing.output


def test_missing_glyph_detection_works(app, glyph_warnings):
    """The glyph check above is meaningful: a character no installed font has is reported."""
    with app.app_context():
        html_to_pdf('<html lang="ja"><body><p>\U00013000 \U0001fa7f</p></body></html>')
    assert any(".notdef" in m for m in glyph_warnings())


# ------------------------------------------------------------------ pending comments and sanity warnings


def _add_pending(app, slug: str, n: int) -> None:
    """n more answers whose comment was stored and never classified (CLASSIFY_ON_SUBMIT is off)."""
    from diagnosis.extensions import db
    from diagnosis.recommend.loader import find_campaign
    from diagnosis.store.responses import add_response
    from diagnosis.workspace import questionnaire

    from .conftest import LEVELS, _answers

    with app.app_context():
        camp = find_campaign(slug)
        for i in range(n):
            a = _answers(LEVELS, "monthly", department="sales", role="staff")
            a["reasons"] = f"上司が使っていないので、使う理由が見当たらない（{i}）"
            assert add_response(camp, questionnaire("ai-adoption"), a, source="import").comments[0].label is None
        db.session.commit()


def test_cli_report_refuses_while_comments_are_pending_then_renders_when_allowed(app, runner, tmp_path):
    w = build(app, earlier=False)
    _add_pending(app, w["slug"], 5)
    out = tmp_path / "report.pdf"
    refused = runner.invoke(args=["report", w["slug"], "-o", str(out)])
    assert refused.exit_code != 0 and not out.exists()
    assert len(refused.output.strip().splitlines()) == 1 and "Traceback" not in refused.output
    assert "5件の自由記述がまだ分類されていません" in refused.output
    assert "teichaku classify-pending" in refused.output and "--allow-pending" in refused.output
    en = runner.invoke(args=["report", w["slug"], "-o", str(out), "--lang", "en"])
    assert en.exit_code != 0 and "5 comments are not classified yet" in en.output
    assert "--allow-pending" in en.output and len(en.output.strip().splitlines()) == 1
    html = runner.invoke(args=["report", w["slug"], "-o", str(tmp_path / "r.html"), "--html"])
    assert html.exit_code != 0  # the HTML is the same report: refused alike

    allowed = runner.invoke(args=["report", w["slug"], "-o", str(out), "--allow-pending"])
    assert allowed.exit_code == 0, allowed.output
    text = flat(pdf_text(out.read_bytes(), tmp_path))
    assert "作成時点のデータについての注意" in text and "5件の自由記述がまだ分類されていません" in text
    en_out = tmp_path / "report-en.pdf"
    assert runner.invoke(args=["report", w["slug"], "-o", str(en_out), "--lang", "en", "--allow-pending"]).exit_code == 0
    assert "5 comments are not classified yet" in " ".join(pdf_text(en_out.read_bytes(), tmp_path).split())

    # The classifier catches up (the real model, through the CLI fallback): no flag needed any more.
    classified = runner.invoke(args=["classify-pending"])
    assert classified.exit_code == 0 and "classified 5 comment(s)" in classified.output
    again = runner.invoke(args=["report", w["slug"], "-o", str(out)])
    assert again.exit_code == 0, again.output
    assert "まだ分類されていません" not in flat(pdf_text(out.read_bytes(), tmp_path))


def test_report_warns_of_another_questionnaire_version_and_of_more_responses_than_employees(app, tmp_path):
    from diagnosis.extensions import db
    from diagnosis.recommend.loader import find_campaign

    w = build(app)  # the earlier wave ran on questionnaire version 1, this one on version 2
    text = flat(pdf_text(render(app, w["slug"]), tmp_path))
    head = text.split("回答状況と利用頻度")[0]  # on the summary page, before the numbers it qualifies
    assert "作成時点のデータについての注意" in head
    assert "前回の「第1回定着度調査」は質問票（ai-adoption）の第1版、今回は第2版で実施しました" in head
    assert "従業員数" not in head  # 34 responses from 200 employees: nothing to say
    with app.app_context():
        find_campaign(w["slug"]).organisation.employee_count = 20
        db.session.commit()
    text = flat(pdf_text(render(app, w["slug"]), tmp_path))
    assert "受け付けた回答（34件）が従業員数（20人）より多くなっています" in text.split("回答状況と利用頻度")[0]
    en = " ".join(pdf_text(render(app, w["slug"], "en"), tmp_path).split())
    assert "Notes on the data when this report was made" in en
    assert "more responses (34) than employees (20)" in en
    # (pdftotext may join "ai-adoption" broken at its hyphen)
    assert "used version 1 of the questionnaire" in en and "and this one version 2" in en


def test_report_of_a_survey_closed_below_the_anonymity_minimum_says_so(app, tmp_path):
    import datetime as dt

    from diagnosis.extensions import db
    from diagnosis.store.models import utcnow
    from diagnosis.store.responses import add_response
    from diagnosis.workspace import create_campaign, create_organisation, questionnaire

    from .conftest import LEVELS, _answers

    with app.app_context():
        org = create_organisation("締切の会社", 50, dt.date(2026, 6, 1))
        camp = create_campaign(org, "closed-few", "少数で締切", opens_on=dt.date(2026, 10, 1))
        for _ in range(3):
            add_response(camp, questionnaire("ai-adoption"), _answers(LEVELS, "monthly"), source="import")
        db.session.commit()
    assert "締め切られました" not in flat(pdf_text(render(app, "closed-few"), tmp_path))  # still open
    with app.app_context():
        from diagnosis.recommend.loader import find_campaign

        find_campaign("closed-few").closed_at = utcnow()
        db.session.commit()
    text = flat(pdf_text(render(app, "closed-few"), tmp_path))
    assert "回答数が少ないため診断を表示できません" in text
    assert "この調査は回答3件で締め切られました。匿名性を守るための最小人数（5件）に届かない" in text
    en = " ".join(pdf_text(render(app, "closed-few", "en"), tmp_path).split())
    assert "closed with 3 responses, fewer than the anonymity minimum of 5" in en


def test_report_has_a_driver_page_tested_wave_change_and_their_methods(app, tmp_path):
    w = build(app)
    text = flat(pdf_text(render(app, w["slug"]), tmp_path))
    assert "原因の診断—利用を左右する原因" in text
    assert "利用頻度のうち説明できる部分に占める割合（95%区間）" in text
    # the verdict sentence, whichever it is, and the stated minimum sample in the appendix
    assert "利用する人としない人を分け" in text or "利用を左右する原因は見当たりません" in text
    assert "回答者が30人未満のとき" in text and "Shapley値" in text
    # the wave section: every change with its interval and verdict, and how the verdict is made
    assert "変化と95%区間" in text and "固定のポイント数では判定しません" in text
    assert re.search(r"(改善|はっきりした変化なし|悪化)", text.split("変化と95%区間")[1])
    with app.app_context():
        html = render_report_html(w["slug"], "en", report_date=REPORT_DATE)
    assert "What separates users from non-users" in html and "tk-chart-drivers" in html
    assert "Nothing is estimated below 30 respondents" in html and "no fixed number of points decides" in html


def test_methods_state_the_organisations_adaptation_or_too_few(app, tmp_path):
    """The methods appendix states the cross-validated figures of the classifier adapted to this
    organisation, or that too few comments were reviewed to measure it."""
    import json

    from diagnosis.adaptation import adapt_organisation, import_examples
    from diagnosis.workspace import find_organisation

    w = build(app, earlier=False)
    clients = Path(__file__).resolve().parents[2] / "models" / "corpus" / "clients" / "minato.jsonl"
    rows = [json.loads(line) for line in clients.read_text(encoding="utf-8").splitlines()]
    with app.app_context():
        org_id = find_organisation(w["org"]).id
        import_examples(org_id, [(r["text"], r["label"]) for r in rows[:12]], "minato.jsonl")
    text = flat(pdf_text(render(app, w["slug"]), tmp_path))
    assert "担当者が確認したこの組織のコメントは12件で、20件未満のため" in text
    with app.app_context():
        import_examples(org_id, [(r["text"], r["label"]) for r in rows[12:30]], "minato.jsonl")
        result = adapt_organisation(org_id)
    f = result.figures
    text = flat(pdf_text(render(app, w["slug"], "en"), tmp_path))
    assert "Adaptedtothisorganisation'swording" in text and "30ofthisorganisation'scomments" in text
    assert f"basemodel{round(100 * f['base_accuracy'])}%,adaptedmodel{round(100 * f['adapted_accuracy'])}%" in text
