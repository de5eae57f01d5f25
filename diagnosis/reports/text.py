"""Fixed wording of the client report in Japanese and English."""

# ruff: noqa: E501 - each sentence stays on one line so its two languages can be read side by side

from __future__ import annotations

TEXT: dict[str, tuple[str, str]] = {
    "doc_title": ("生成AI定着診断レポート", "Generative-AI adoption diagnosis"),
    "doc_subtitle": ("なぜ使われなくなったのか、どこから手を打つか",
                     "Why the tool stopped being used, and where to start"),
    "client": ("クライアント", "Client"),
    "campaign": ("調査", "Survey"),
    "report_date": ("作成日", "Report date"),
    "consultant": ("担当コンサルタント", "Consultant"),
    "consultant_none": ("（未設定）", "(not assigned)"),
    "confidential": ("社外秘 — 回答は匿名で集計し、少人数の集団は表示していません。",
                     "Confidential — answers are combined anonymously; small groups are not shown."),
    "toc": ("目次", "Contents"),
    "s_summary": ("エグゼクティブサマリー", "Executive summary"),
    "s_response": ("回答状況と利用頻度", "Responses and usage"),
    "s_causes": ("原因の診断", "Cause diagnosis"),
    "s_voices": ("従業員の声", "What employees said"),
    "s_remedy": ("推奨施策と90日計画", "Recommended remedy and 90-day plan"),
    "s_others": ("その他の施策と支える仕組み", "Other remedies and supporting mechanisms"),
    "s_note": ("コンサルタント所見", "Consultant's note"),
    "s_waves": ("前回調査との比較", "Comparison with the earlier wave"),
    "s_methods": ("付録：調査と分析の方法", "Appendix: methods"),
    "k_responses": ("回答数", "Responses"),
    "k_rate": ("回答率", "Response rate"),
    "k_adoption": ("一度でも使った人", "Ever used"),
    "k_habit": ("週1回以上の利用", "Weekly or more"),
    "k_review": ("3か月レビュー", "3-month review"),
    "people": ("人", ""),
    "lead_responses": ("従業員{employees}人のうち{n}人が回答しました（回答率{rate}）。",
                       "{n} of {employees} employees answered (response rate {rate})."),
    "sum_dominant": ("定着を妨げている主な原因は「{cause}」です（スコア{score}／100、次点の「{runner}」より{diff}ポイント高く、誤差の幅を上回ります）。",
                     "The main reason the tool is not taking root is “{cause}” (score {score}/100, {diff} points above “{runner}”, beyond the margin of error)."),
    "sum_single": ("定着を妨げている主な原因は「{cause}」です（スコア{score}／100）。",
                   "The main reason the tool is not taking root is “{cause}” (score {score}/100)."),
    "sum_mixed": ("原因は一つに絞れず、「{cause}」（{score}）と「{runner}」（{runner_score}）が誤差の範囲で拮抗しています。",
                  "No single cause stands out: “{cause}” ({score}) and “{runner}” ({runner_score}) are within the margin of error of each other."),
    "sum_start": ("最初に取り組む施策は「{remedy}」で、{format}の形で始めます。",
                  "Start with “{remedy}”, run as {format}."),
    "why_training": ("使い方が分からない・期待した結果が出ないという声が目立ち、週1回以上使っている人は{habit}にとどまるため、繰り返しの研修で使いこなせる人を増やすのが近道です。",
                     "Many say they do not know how to use it or were disappointed by the results, and only {habit} use it weekly, so recurring training that builds skill is the quickest way forward."),
    "why_help_desk": ("困ったときに聞ける相手がいない・初歩的な質問をためらうという声が目立ち、週1回以上使っている人は{habit}にとどまるため、気軽に相談できる場所をつくるのが近道です。",
                      "Many say there is nobody to ask or that they hesitate to ask basic questions, and only {habit} use it weekly, so a place to ask is the quickest way forward."),
    "why_success_stories": ("何に使えばよいか分からない・上司が使っていないという声が目立ち、週1回以上使っている人は{habit}にとどまるため、社内の具体的な成果を数字で示すのが近道です。",
                            "Many do not see what to use it for or note that managers do not use it, and only {habit} use it weekly, so concrete in-house results with numbers are the quickest way forward."),
    "sum_review": ("{date}に3か月レビューを行い、同じアンケートで効果を確かめます。",
                   "Review on {date} after three months, repeating this survey to measure the effect."),
    "before_start": ("着手の前に", "Before you start"),
    "warnings_title": ("作成時点のデータについての注意", "Notes on the data when this report was made"),
    "suppressed_title": ("回答数が少ないため診断を表示できません", "Too few responses to show a diagnosis"),
    "suppressed_body": ("匿名性を守るため、回答が{min_group}件未満の調査は集計結果を表示しません。回答を集めてから再度作成してください。",
                        "To protect anonymity, a survey with fewer than {min_group} responses shows no results. Collect more answers and create the report again."),
    "funnel_title": ("利用頻度（ここ1か月）", "Usage in the past month"),
    "findings": ("主な所見", "Key findings"),
    "cause_chart": ("原因別スコア", "Score per cause"),
    "cause_chart_note": ("スコアは0〜100で、高いほど問題が大きいことを示します。設問の否定的な回答と自由記述の割合を組み合わせ、横線は誤差の幅です。",
                         "Scores run from 0 to 100; higher means a bigger problem. They combine unfavourable answers to the rated questions with the share of comments, and the whiskers show the margin of error."),
    "share_chart": ("自由記述の内訳", "What the comments are about"),
    "by_segment": ("セグメント別", "By segment"),
    "segment_note": ("回答者が{min_group}人未満の集団（およびそこから逆算できる集団）は斜線で示し、数値を表示しません。",
                     "Groups with fewer than {min_group} respondents (and groups from which they could be inferred) are hatched and show no numbers."),
    "cause": ("原因", "Cause"),
    "score": ("スコア", "Score"),
    "favourable": ("設問の肯定的回答", "Favourable answers"),
    "comment_share": ("自由記述の割合（補正後）", "Share of comments (corrected)"),
    "comment_share_raw": ("数えただけの割合", "Counted share"),
    "comments": ("件数", "Comments"),
    "other_themes": ("「その他」の内訳", "What “other” comments are about"),
    "theme": ("テーマ", "Theme"),
    "no_quotes": ("引用できるコメントはありません。", "No comment can be quoted."),
    "quotes_note": ("引用は原文から個人名・連絡先・社員番号を伏せ字にしています。少人数の集団からの記述は引用していません。",
                    "Quotes have names, contact details and staff numbers masked; comments from small groups are not quoted."),
    "start_here": ("ここから着手", "Start here"),
    "format": ("実施形式", "Format"),
    "reasons": ("選んだ理由", "Why this remedy"),
    "plan": ("90日計画", "90-day plan"),
    "days": ("期間（日）", "Days"),
    "action": ("取り組み", "Action"),
    "kpis": ("KPI（数値目標）", "KPIs"),
    "review_date": ("レビュー日", "Review date"),
    "voices": ("関連する声", "Related comments"),
    "rank": ("優先度{rank}位", "Priority {rank}"),
    "supporting": ("施策を支える仕組み", "Supporting mechanisms"),
    "note_none": ("所見はまだ記入されていません。", "No note has been written yet."),
    "wave_none": ("同じ組織・同じアンケートの前回調査はありません。次回の調査で効果を比較します。",
                  "There is no earlier wave of this organisation with the same questionnaire; the next wave will be compared with this one."),
    "wave_error": ("前回調査とは比較できません：{reason}", "The earlier wave cannot be compared: {reason}"),
    "wave_chart": ("原因スコアの変化", "Change of the cause scores"),
    "usage_change": ("利用頻度の変化（人）", "Change in usage (people)"),
    "before": ("前回", "Earlier"),
    "after": ("今回", "Latest"),
    "change": ("増減", "Change"),
    "m_sample": ("回答と集計", "Sample"),
    "m_responses": ("回答数 {n}（従業員 {employees}人、回答率 {rate}）", "{n} responses ({employees} employees, response rate {rate})"),
    "m_comments": ("分類済みの自由記述 {n}件", "{n} classified comments"),
    "m_thresholds": ("匿名性の基準：集団の最小人数 {min_group}人、自由記述を引用・集計表示する最小人数 {min_comments}人",
                     "Anonymity: at least {min_group} respondents per group shown, {min_comments} before comments are quoted"),
    "m_release": ("集計は、新しい回答が{min_group}件以上そろうたびにまとめて更新します（受付{received}件のうち{included}件を集計）。コメントは部門ごとに{min_group}件以上そろった回答のものだけを集計・引用します。役職・年代・勤続年数の欄は設問への回答だけで計算しています。",
                  "Results are updated only when at least {min_group} new responses have arrived ({included} of the {received} received are included). Comments are counted and quoted only once {min_group} answers from their department have arrived together. Position, age and tenure use the rated questions only."),
    "m_scoring": ("スコアの算出", "Scoring"),
    "m_scoring_body": ("原因ごとのスコア = 設問（UTAUTに基づく5段階）の問題度 × {a} ＋ 自由記述の割合 × {b}。主因は、次点との差が誤差の幅（標準誤差の{z}倍）を超えた場合のみ判定し、超えない場合は「拮抗」とします。",
                       "Score per cause = problem level of the rated questions (five-point, based on UTAUT) × {a} + share of comments × {b}. A cause is called dominant only when its lead over the runner-up exceeds the margin of error ({z} standard errors); otherwise the diagnosis is “mixed”."),
    "m_scoring_body_checklist": ("原因ごとのスコア = 設問（UTAUTに基づく5段階）の問題度 × {a} ＋ 自由記述の割合 × {b} ＋ 理由のチェックリストで本人が選んだ割合 × {s}。主因は、次点との差が誤差の幅（標準誤差の{z}倍）を超えた場合のみ判定し、超えない場合は「拮抗」とします。",
                                 "Score per cause = problem level of the rated questions (five-point, based on UTAUT) × {a} + share of comments × {b} + share of the reasons people chose in the checklist × {s}. A cause is called dominant only when its lead over the runner-up exceeds the margin of error ({z} standard errors); otherwise the diagnosis is “mixed”."),
    "m_checklist": ("理由のチェックリストでは、回答者が使わない理由を3つまで選びます。各選択肢はあらかじめ原因（相談先・研修に関わるものは施策も）に対応づけてあり、一人の選択を原因ごとの割合に按分して平均します。分類器を通らないため分類の誤りの影響を受けませんが、選択肢にない理由は拾えないため、自由記述と並べて読みます。",
                    "In the reason checklist, respondents choose up to three reasons for not using the tool. Each option is mapped in advance to a cause (and, for asking and training, to a remedy); each person's choices are split over the causes and averaged. It does not pass through the classifier, so classifier errors cannot bias it, but it cannot capture reasons the list does not offer: read it beside the comments."),
    "s_drivers": ("利用を左右する原因", "What separates users from non-users"),
    "drivers_lead": ("上のスコアは不満の大きさを示します。このページは、回答者ごとの利用頻度（使っていない〜ほぼ毎日）の違いのうち、3つの原因で説明できる部分を原因ごとに分けたものです。",
                     "The scores above show how much people complain. This page splits the part of the differences in usage between respondents (never to daily) that the three causes explain, cause by cause."),
    "drivers_chart": ("利用頻度のうち説明できる部分に占める割合（95%区間）", "Share of the explained variance in use (95% interval)"),
    "drivers_share": ("説明できる部分に占める割合", "Share of explained variance"),
    "drivers_interval": ("95%区間", "95% interval"),
    "drivers_direction": ("向き", "Direction"),
    "dir_less_use": ("問題が大きいほど利用が少ない", "bigger problem, less use"),
    "dir_more_use": ("問題が大きいほど利用が多い", "bigger problem, more use"),
    "drivers_r2": ("3つの原因で説明できる利用頻度の差：R² {r2}（95%区間 {lo}〜{hi}）、回答者{n}人。", "The three causes together explain R² {r2} of the differences in use (95% interval {lo}–{hi}); {n} respondents."),
    "m_drivers": ("利用を左右する原因", "Drivers of use"),
    "m_drivers_body": ("利用頻度を0（使っていない）〜4（ほぼ毎日）の得点とし、各原因の設問の問題度（回答者ごと）と、{min_comments}人以上が自由記述を書いた場合はその原因を挙げたかどうか（0/1）を原因ごとのまとまりとして線形回帰し、R²をShapley値で3つの原因に分けました（全8通りの組み合わせの回帰。相関する原因の間では、共有する説明力を等分します）。区間は回答者を{boot}回リサンプリングしたブートストラップ（乱数の種は固定、同じデータからは同じ区間）のパーセンタイル区間です。ある原因の割合が他のすべての原因を97.5%以上のリサンプルで上回り、かつR²の区間の下限が{min_r2}以上のときだけ「他を上回る」とします。利用頻度と3つの原因の設問すべてに答えた回答者が{min_n}人未満のとき、および匿名性の基準で非表示のグループでは推定しません。",
                       "Usage is scored 0 (never) to 4 (almost daily) and regressed on each cause's rated-question problem level per respondent and, when at least {min_comments} respondents wrote a comment, whether their comment named that cause (0/1), the columns of a cause forming one set; R² is split over the three causes by their Shapley values (regressions on all 8 combinations; causes that correlate share what they explain together equally). Intervals are percentile intervals of a bootstrap of respondents ({boot} resamples, fixed seed: the same data always give the same intervals). A cause stands out only when its share exceeds every other cause's in at least 97.5% of the resamples and the lower end of the R² interval is at least {min_r2}. Nothing is estimated below {min_n} respondents who answered the usage question and all three causes' questions, nor for groups hidden by the anonymity rules."),
    "m_waves": ("前回との比較の判定", "Wave change"),
    "m_waves_body": ("原因スコアの変化の95%区間は、2回の調査を独立な標本として、それぞれの標準誤差から求めます（変化 ± {z} × √(se₁² + se₂²)）。利用率の変化はNewcombeの方法（2つのWilson区間から作る差の区間）によります。区間がすべて改善の側にあれば「改善」、悪化の側にあれば「悪化」、ゼロをまたげば「はっきりした変化なし」とし、固定のポイント数では判定しません。",
                     "The 95% interval of a change in a cause score treats the two waves as independent samples and combines their standard errors (change ± {z} × √(se₁² + se₂²)); a change in a usage rate uses Newcombe's interval for a difference of proportions (built from the two Wilson intervals). A change whose interval lies wholly on the better side is “improved”, wholly on the worse side “worse”, and one whose interval includes zero “no clear change”; no fixed number of points decides."),
    "change_table": ("変化と95%区間", "Change and 95% interval"),
    "verdict": ("判定", "Verdict"),
    "verdict_improved": ("改善", "improved"),
    "verdict_no_clear_change": ("はっきりした変化なし", "no clear change"),
    "verdict_worse": ("悪化", "worse"),
    "rate_adoption_rate": ("一度でも使った人（ポイント）", "Ever used (points)"),
    "rate_habit_rate": ("週1回以上の利用（ポイント）", "Weekly or more (points)"),
    "s_reasons": ("本人が選んだ理由", "Reasons people chose"),
    "reasons_lead": ("理由のチェックリストに{n}人が回答しました（1人3つまで）。", "{n} people answered the reason checklist (up to three each)."),
    "reasons_chart": ("選ばれた理由", "Reasons chosen"),
    "evidence_chart": ("原因別の割合：本人が選んだ理由と自由記述の分類", "Share per cause: reasons chosen and classified comments"),
    "disagreements": ("チェックリストと自由記述の食い違い", "Where the checklist and the comments disagree"),
    "disagreements_note": ("数値は「本人が選んだ理由の割合（95%区間）／自由記述の分類による割合（95%区間）」です。区間が重ならないため、どちらかの根拠に偏りがある可能性があります。該当する原因のコメントを読み、必要なら分類を修正してください。",
                           "Figures: share by the reasons people chose (95% interval) / share by the classified comments (95% interval). The intervals do not overlap, so one of the two may be biased: read the comments for that cause and correct their labels where needed."),
    "reasons_none": ("理由のチェックリストへの回答はまだありません。", "Nobody has answered the reason checklist yet."),
    "m_classifier": ("自由記述の分類器", "Comment classifier"),
    "m_classifier_body": ("多言語の文埋め込み（{backend}）と線形の分類層による4分類（目的・経営層・教育サポート・その他）。"
                          "実際の言い回し（間接的な理由、第三者の観察、統計、見出し、皮肉、質問、SNSの文体）で書かれた難しい評価データ{n}件でのマクロF1 {f1}"
                          "（日本語 {f1_ja}、英語 {f1_en}。2人の独立した判定者の一致率 {agreement}）。このデータでは{unclear}が「判定不能」となり、"
                          "判定した記述の正解率は {acc} でした。平易な表現の検証データ{n_clean}件ではマクロF1 {f1_clean}、交差検証 {cv}。学習日 {trained}。"
                          "担当者が修正したラベルは分類器より優先します。",
                          "Multilingual sentence embeddings ({backend}) with a linear classification layer, four labels (purpose, "
                          "leadership, support, other). On {n} hard evaluation statements written in real registers (indirect "
                          "reasons, third-person observations, statistics, headings, sarcasm, questions, forum style): macro-F1 "
                          "{f1} (Japanese {f1_ja}, English {f1_en}; two independent labellers agree on {agreement}). It left "
                          "{unclear} of them unclear and was right on {acc} of the rest. On {n_clean} plainly worded held-out "
                          "answers: {f1_clean}; cross-validated: {cv}. Trained {trained}. Labels corrected by staff take "
                          "precedence."),
    "m_classifier_unclear": ("この調査の自由記述のうち{share}（{n}件）は確信度が基準に満たず「判定不能」とし、原因の集計から除いています。",
                             "{share} of this survey's comments ({n}) fell below the confidence threshold: they are "
                             "marked unclear and left out of the cause counts."),
    "m_classifier_unclear_corrected": ("この調査の自由記述のうち{share}（{n}件）は確信度が基準に満たず「判定不能」としました。"
                                       "ラベルは付けませんが、各原因の確率は補正後の割合の推定に含めています。",
                                       "{share} of this survey's comments ({n}) fell below the confidence threshold: they "
                                       "are marked unclear and get no label, but their probabilities still count in the "
                                       "corrected shares."),
    "m_quantification": ("分類器は一部の記述を別の原因と取り違えます（例：支援不足の記述を目的の曖昧さと読む）。"
                         "そこで、正解の分かっている難しい評価データ{n}件で測った取り違えの傾向を差し引いて各原因の割合を推定し、"
                         "記述の抽出と取り違え傾向の測定の両方の誤差を含む95%区間を添えています。",
                         "The classifier mistakes some comments for another cause (for example, reading a support "
                         "problem as unclear purpose). Each cause's share is therefore estimated by removing the "
                         "pattern of mistakes it makes on {n} hard evaluation statements with known answers, and its "
                         "95% interval covers both the sampling of comments and the measurement of those mistakes."),
    "m_quantification_count": ("自由記述の割合は、付いたラベルを数えた値です（分類器の誤りは補正していません）。",
                               "Comment shares count the labels as given; the classifier's errors are not corrected."),
    "m_adapted": ("この組織の言い回しへの適応：担当者が確認・修正したこの組織のコメント{n}件（他の組織のデータは使いません）で分類器を学習させました。"
                  "{folds}分割の交差検証による正解率は、標準モデル {base} に対し、適応後のモデル {adapted}（マクロF1 {base_f1} → {adapted_f1}）です。",
                  "Adapted to this organisation's wording: the classifier was taught with {n} of this organisation's "
                  "comments confirmed or corrected by staff (no other organisation's data). Accuracy in {folds}-fold "
                  "cross-validation: base model {base}, adapted model {adapted} (macro-F1 {base_f1} → {adapted_f1})."),
    "m_adapted_kept_base": ("適応後のモデルの方が低かったため、この調査のラベルには標準モデルを使っています。",
                            "The adapted model measured lower, so this survey's labels come from the base model."),
    "m_adapted_too_few": ("担当者が確認したこの組織のコメントは{n}件で、20件未満のため、この組織の言い回しへの適応による精度の改善はまだ測れません。",
                          "Staff have reviewed {n} of this organisation's comments: fewer than 20, too few to measure "
                          "what adapting the classifier to its wording gains."),
    "m_classifier_none": ("分類器の精度指標は利用できません（models/metadata.json が見つかりません）。",
                          "The classifier's accuracy figures are unavailable (models/metadata.json not found)."),
    "m_source": ("方法の出典", "Method"),
    "m_source_body": ("原因の3分類（目的の曖昧さ・経営層の関与不足・教育サポート不足）と3つの施策（成功事例の共有・定期研修・相談窓口）、それを支える仕組み（マニュアル・月次定例・3か月レビュー・ガバナンス）は生成AI定着支援の実務に基づきます。",
                      "The three causes (unclear purpose, lack of leadership involvement, insufficient training and support), the three remedies (success stories, recurring training, help desk) and the supporting mechanisms (manual, monthly meeting, 3-month review, governance) follow consulting practice in generative-AI adoption."),
    "generated": ("Teichaku により {date} に作成", "Generated by Teichaku on {date}"),
    "field_department": ("部門別", "By department"),
    "field_role": ("役職別", "By position"),
    "field_age_band": ("年代別", "By age"),
    "field_tenure": ("勤続年数別", "By tenure"),
    "running": ("生成AI定着診断", "Adoption diagnosis"),
    "na": ("—", "—"),
}


def missing_remedy_texts(remedies: object) -> list[str]:
    """The ``why_<remedy>`` texts the report needs for these remedies and does not have (checked at
    start-up, so that a remedy added to the playbook without its text stops the app, not a PDF)."""
    return [f"why_{r}" for r in remedies if f"why_{r}" not in TEXT]


def translate(key: str, lang: str, **values: object) -> str:
    """The report text for key in lang, formatted with values."""
    ja, en = TEXT[key]
    text = en if lang == "en" else ja
    return text.format(**values) if values else text
