"""build_report / write_report: which sections appear for which inputs, escaping, the
page's safety properties, input errors and the atomic write."""

from __future__ import annotations

import datetime as dt
import re
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest
from _report_helpers import HOSTILE, model_inputs

import softlabels
from softlabels import SoftLabels
from softlabels.core.annotations import Annotations
from softlabels.core.errors import InputError, InvalidParameterError
from softlabels.datasets import load_adult3, make_crowd
from softlabels import __version__
from softlabels.report import CONTENT_SECURITY_POLICY, build_report, write_report

CREATED = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.timezone.utc)


class Page(HTMLParser):
    """The tags, attributes, section ids and text of a page."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    handle_startendtag = handle_starttag

    def handle_data(self, data):
        self.text.append(data)

    @property
    def section_ids(self) -> list[str]:
        return [a["id"] for t, a in self.tags if t == "section"]

    @property
    def all_text(self) -> str:
        return "".join(self.text)


@pytest.fixture(scope="module")
def crowd():
    answers, truth = make_crowd(n_items=120, n_workers=12, n_classes=3, random_state=4)
    return answers


@pytest.fixture(scope="module")
def crowd_page(crowd):
    return build_report(crowd, title="crowd", created=CREATED)


@pytest.fixture(scope="module")
def full_page(crowd):
    labels, pred = model_inputs(crowd)
    return build_report(crowd, labels=labels, pred_probs=pred, created=CREATED)


# ---------------------------------------------------------------------- sections
def test_answers_alone_give_the_crowd_sections(crowd_page):
    page = Page(crowd_page)
    assert page.section_ids == [
        "summary", "provenance", "class-balance", "annotators", "labeller-quality",
        "ambiguity", "weak-consensus", "examples", "not-shown",
    ]
    assert "Calibration" in page.all_text and "needs pred_probs" in page.all_text


def test_labels_and_predictions_add_the_model_sections(full_page):
    ids = Page(full_page).section_ids
    for sid in ("summary", "annotators", "ambiguity", "weak-consensus", "calibration",
                "conformal"):
        assert sid in ids


def test_labels_and_predictions_without_answers():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, 200)
    pred = rng.dirichlet(np.ones(3), 200)
    page = Page(build_report(labels=labels, pred_probs=pred, classes=["a", "b", "c"]))
    ids = page.section_ids
    assert {"summary", "class-balance", "calibration", "conformal"} <= set(ids)
    assert "annotators" not in ids and "ambiguity" not in ids
    assert "needs crowd answers" in page.all_text
    # No consensus was computed: the class balance speaks of the given labels only.
    html = build_report(labels=labels, pred_probs=pred, classes=["a", "b", "c"])
    balance = html[html.index('id="class-balance"'):html.index('id="calibration"')]
    assert "by the given labels (no consensus was computed)" in balance
    assert "consensus counts" not in balance and "answers" not in balance



def test_labels_are_aligned_to_a_softlabels_of_predictions_by_item_id():
    rng = np.random.default_rng(1)
    codes = rng.integers(0, 3, 60)
    probs = 0.85 * np.eye(3)[codes] + 0.05
    ids = np.array([f"img{i:02d}" for i in range(60)])
    pred = SoftLabels(probs, classes=["a", "b", "c"], item_ids=ids)
    labels = pd.Series(np.array(["a", "b", "c"])[codes], index=ids).iloc[::-1]  # by id
    html = build_report(labels=labels, pred_probs=pred, created=CREATED)
    issues = html[html.index('id="issues"'):]
    issues = issues[: issues.index("</section>")]
    assert "Likely label errors</dt><dd>0 (0.0%)" in html  # every label agrees
    assert "img" in issues  # the items are named by their ids, not 0..n-1

def test_a_series_of_labels_is_matched_on_its_index_even_a_default_one():
    """A Series is labels by item id, as gold is (:func:`make_crowd`'s truth has the
    default index 0..n-1, which are its item ids); it was read by position whenever its
    index was a RangeIndex, so items answered out of id order got other items' labels."""
    answers, truth = make_crowd(n_items=80, n_workers=6, n_classes=3, random_state=2)
    answers = answers.sample(frac=1.0, random_state=0).reset_index(drop=True)
    assert isinstance(truth.index, pd.RangeIndex)
    ann = Annotations.from_frame(answers)
    assert (ann.item_ids != np.arange(80)).any()  # the items are not in id order
    codes = pd.Index(ann.classes).get_indexer(truth.loc[ann.item_ids])
    pred = SoftLabels(0.85 * np.eye(3)[codes] + 0.05, classes=ann.classes,
                      item_ids=ann.item_ids)
    html = build_report(answers, labels=truth, pred_probs=pred, method="majority-vote",
                        created=CREATED)
    assert "Likely label errors</dt><dd>0 (0.0%)" in html  # every label agrees
    # by position, with the ids in item order, the same page
    assert html == build_report(answers, labels=truth.loc[ann.item_ids].to_numpy(),
                                pred_probs=pred, method="majority-vote", created=CREATED)


def test_a_series_whose_index_is_not_the_item_ids_is_refused_with_the_fix():
    soft = SoftLabels([[0.9, 0.1], [0.4, 0.6], [0.5, 0.5]], classes=["no", "yes"],
                      item_ids=["a", "b", "c"])
    labels = pd.Series(["no", "yes", "yes"])  # default index: not the ids a, b, c
    with pytest.raises(InputError, match=r"labels has no row for item 'a' \(3 items missing\)"
                       r".*matched on its index.*to_numpy\(\)"):
        build_report(soft_labels=soft, labels=labels, pred_probs=soft.probs)
    page = build_report(soft_labels=soft, labels=labels.to_numpy(), pred_probs=soft.probs)
    assert page.startswith("<!DOCTYPE html>")


def test_soft_labels_alone_give_balance_and_ambiguity():
    soft = SoftLabels([[0.9, 0.1], [0.4, 0.6], [0.5, 0.5]], classes=["no", "yes"],
                      item_ids=["a", "b", "c"])
    page = Page(build_report(soft_labels=soft))
    assert {"class-balance", "ambiguity", "weak-consensus"} <= set(page.section_ids)
    assert "annotators" not in page.section_ids
    # the weakest consensus comes first: item c (0.5), then b (0.6)
    rows = re.findall(r"<tr><td>([abc])</td>", build_report(soft_labels=soft))
    assert rows == ["c", "b", "a"]


def test_too_few_items_for_conformal_is_explained():
    labels = np.array([0, 1] * 10)
    pred = np.tile([[0.8, 0.2], [0.3, 0.7]], (10, 1))
    page = Page(build_report(labels=labels, pred_probs=pred))
    assert "conformal" not in page.section_ids
    assert "needs at least 40 items" in page.all_text


# ---------------------------------------------------------------------- numbers
def test_class_table_counts_the_answers(crowd, crowd_page):
    per_class = crowd["label"].value_counts()
    for cls, n in per_class.items():
        assert re.search(rf"<td>{cls}</td><td class=\"num\">{n:,}</td>", crowd_page), cls


def test_agreement_numbers_come_from_the_audit_functions(crowd, crowd_page):
    from softlabels.audit.agreement import fleiss_kappa, krippendorff_alpha

    ann = Annotations.from_frame(crowd)
    assert f"{krippendorff_alpha(ann):.3f}" in crowd_page
    assert f"{fleiss_kappa(ann):.3f}" in crowd_page


def fact(html: str, name: str) -> str:
    found = re.search(rf"<dt>{re.escape(name)}</dt><dd>([^<]*)</dd>", html)
    assert found, name
    return found.group(1)


def test_summary_counts(crowd, crowd_page):
    assert fact(crowd_page, "Answers") == f"{len(crowd):,}"
    assert fact(crowd_page, "Items") == f"{crowd['item'].nunique():,}"
    assert fact(crowd_page, "Workers") == f"{crowd['worker'].nunique():,}"
    # the default crowd model, written as it can be passed back to --method
    assert fact(crowd_page, "Consensus method") == softlabels.DEFAULT_CROWD_METHOD
    assert softlabels.DEFAULT_CROWD_METHOD == "stacked"


def test_imbalance_alert_fires_only_on_imbalanced_data():
    balanced, _ = make_crowd(n_items=90, n_workers=9, n_classes=3, random_state=1,
                             accuracy=(0.9, 0.99))
    skewed, _ = make_crowd(n_items=300, n_workers=9, n_classes=3, random_state=1,
                           accuracy=(0.9, 0.99), class_prior=[0.94, 0.05, 0.01])
    assert 'data-alert="class-imbalance"' not in build_report(balanced)
    assert 'data-alert="class-imbalance"' in build_report(skewed)


def test_spammers_are_flagged():
    answers, _ = make_crowd(n_items=150, n_workers=10, n_classes=3, random_state=2,
                            accuracy=(0.85, 0.95))
    rng = np.random.default_rng(0)
    spam = answers["worker"] == answers["worker"].iloc[0]
    answers = answers.copy()
    answers.loc[spam, "label"] = rng.integers(0, 3, int(spam.sum()))
    html = build_report(answers)
    assert 'data-alert="spammers"' in html
    assert "Likely spammers" in html



@pytest.mark.parametrize("answers", [
    pd.DataFrame({"item": range(10), "worker": 0, "label": list("ab") * 5}),  # one worker
    pd.DataFrame({"item": 0, "worker": range(3), "label": list("aba")}),  # one item
], ids=["one-worker", "one-item"])
def test_no_rankable_worker_gives_no_empty_worker_table(answers):
    html = build_report(answers, created=CREATED)
    section = html[html.index('id="annotators"'):]
    section = section[: section.index("</section>")]
    for table_html in re.findall(r"<table.*?</table>", section, flags=re.S):
        assert "<td" in table_html  # every table shown has rows
    assert "Most reliable workers" not in section
    assert "workers are not ranked" in section

def test_max_rows_caps_tables_and_counts_the_rest(crowd):
    html = build_report(crowd, max_rows=4)
    weak = html[html.index('id="weak-consensus"'):]
    weak = weak[: weak.index("</section>")]
    assert weak.count("<tr>") == 5  # header + 4
    assert "116 more rows not shown." in weak


def test_same_inputs_give_the_same_page(crowd):
    a = build_report(crowd, created=CREATED)
    b = build_report(crowd, created=CREATED)
    assert a == b
    assert "2024-05-01 12:00 UTC" in a


def test_a_fitted_model_gives_the_page_the_report_would_fit(crowd):
    # quickstart fits once and hands the model over: the same page as fitting here
    # (skills column included), only the provenance says who fitted it
    fitted_here = build_report(crowd, method="dawid-skene", created=CREATED)
    model = softlabels.create_source("dawid-skene").fit(Annotations.from_frame(crowd))
    given = build_report(crowd, model=model, created=CREATED)
    assert "dawid-skene (fitted on the answers before the report)" in given
    assert "given (soft_labels)" not in given and "dawid-skene skill" in given
    assert given.replace("fitted on the answers before the report",
                         "fitted here on the answers") == fitted_here
    # without answers: those it was fitted on (the data are then its Annotations)
    alone = build_report(model=model, created=CREATED)
    assert alone.replace("an Annotations table", "a DataFrame of answers") == given


def test_a_model_fitted_on_other_answers_or_not_fitted_is_refused(crowd):
    model = softlabels.create_source("dawid-skene").fit(Annotations.from_frame(crowd))
    with pytest.raises(InputError, match="fitted on other answers"):
        build_report(crowd.iloc[:-1], model=model)
    with pytest.raises(InputError, match="fitted crowd model"):
        build_report(crowd, model=softlabels.create_source("dawid-skene"))
    with pytest.raises(InputError, match="soft_labels or model, not both"):
        build_report(crowd, model=model, soft_labels=model.soft_labels_)


def test_given_soft_labels_are_used_instead_of_fitting(crowd):
    soft = SoftLabels.from_counts(Annotations.from_frame(crowd).counts,
                                  classes=Annotations.from_frame(crowd).classes,
                                  item_ids=Annotations.from_frame(crowd).item_ids,
                                  provenance={"method": "my-own-model"})
    shuffled = soft.take(np.random.default_rng(0).permutation(soft.n_items))
    html = build_report(crowd, soft_labels=shuffled, created=CREATED)
    assert "my-own-model (given (soft_labels))" in html
    assert html == build_report(crowd, soft_labels=soft, created=CREATED)


def test_predictions_as_soft_labels_are_aligned_by_item(crowd):
    labels, pred = model_inputs(crowd)
    ann = Annotations.from_frame(crowd)
    as_soft = SoftLabels(pred, classes=ann.classes, item_ids=ann.item_ids)
    perm = np.random.default_rng(1).permutation(len(pred))
    a = build_report(crowd, labels=labels, pred_probs=pred, created=CREATED)
    b = build_report(crowd, labels=labels.iloc[perm], pred_probs=as_soft.take(perm),
                     created=CREATED)
    assert a == b


def test_predictions_without_labels_are_scored_against_the_consensus(crowd):
    _, pred = model_inputs(crowd)
    html = build_report(crowd, pred_probs=pred)
    assert "calibration" in Page(html).section_ids
    assert "the consensus soft labels" in html


# ---------------------------------------------------------------------- safety
def test_page_is_self_contained_and_script_free(full_page):
    page = Page(full_page)
    tags = [t for t, _ in page.tags]
    assert "script" not in tags and "link" not in tags and "iframe" not in tags
    for tag, attrs in page.tags:
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, name)
            if name in ("src", "href", "action", "xlink:href"):
                assert value is not None and value.startswith("#"), (tag, name, value)
    assert "http://" not in full_page.replace("http://www.w3.org/2000/svg", "")
    assert "https://" not in full_page
    assert "@import" not in full_page and "url(" not in full_page


def test_csp_meta_comes_before_any_user_content(full_page):
    head = full_page[: full_page.index("</head>")]
    csp = f'<meta http-equiv="Content-Security-Policy" content="{CONTENT_SECURITY_POLICY}">'
    csp = csp.replace("'", "&#39;")
    assert csp in head
    assert head.index(csp) < head.index("<title>")
    assert "default-src 'none'" in CONTENT_SECURITY_POLICY
    assert "script" not in CONTENT_SECURITY_POLICY


def test_hostile_names_are_escaped(hostile_answers):
    labels, pred = model_inputs(hostile_answers)
    html = build_report(hostile_answers, labels=labels, pred_probs=pred,
                        title=HOSTILE[0], description=HOSTILE[1], max_rows=40)
    page = Page(html)
    tags = {t for t, _ in page.tags}
    assert "script" not in tags and "img" not in tags
    assert not any(n.startswith("on") for _, a in page.tags for n in a)
    # every hostile string is shown literally (as text) somewhere
    text = page.all_text
    for s in HOSTILE:
        assert s in text, s
    assert page.text.count(HOSTILE[0]) >= 2  # title tag and heading


def test_hostile_file_name_in_the_subtitle(tmp_path, hostile_answers):
    path = tmp_path / "<script>alert(1)<script>.csv"
    hostile_answers.to_csv(path, index=False)
    html = build_report(path)
    assert "&lt;script&gt;alert(1)&lt;script&gt;.csv" in html
    assert "<script>" not in html


# ---------------------------------------------------------------------- inputs
def test_nothing_to_report_on():
    with pytest.raises(InputError, match="nothing to report on"):
        build_report()


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"alpha": 0.0}, "alpha"),
        ({"alpha": 1.0}, "alpha"),
        ({"n_bins": 1}, "n_bins"),
        ({"max_rows": 0}, "max_rows"),
        ({"random_state": -1}, "random_state"),
    ],
)
def test_bad_parameters(crowd, kwargs, match):
    with pytest.raises(InvalidParameterError, match=match):
        build_report(crowd, **kwargs)


def test_unknown_method_is_named(crowd):
    with pytest.raises(Exception, match="dawid-skene"):
        build_report(crowd, method="dawid-skeen")


def test_label_and_prediction_errors(crowd):
    labels, pred = model_inputs(crowd)
    with pytest.raises(InputError, match="pred_probs has 119 rows"):
        build_report(crowd, labels=labels, pred_probs=pred[:-1])
    with pytest.raises(InputError, match="3 classes"):
        two = pred[:, :2] / pred[:, :2].sum(axis=1, keepdims=True)
        build_report(crowd, labels=labels, pred_probs=two)
    bad = labels.copy()
    bad.iloc[5] = "zebra"
    with pytest.raises(InputError, match="not among the classes.*row 5.*zebra"):
        build_report(crowd, labels=bad.to_numpy(), pred_probs=pred)
    with pytest.raises(InputError, match="labels has no row for item"):
        build_report(crowd, labels=labels.iloc[1:], pred_probs=pred)
    with pytest.raises(InputError, match="soft_labels must be a SoftLabels"):
        build_report(crowd, soft_labels=pred)



@pytest.mark.parametrize("labels", [["x", "z", "x", "z"], [0, 2, 0, 2]], ids=["names", "codes"])
def test_repeated_class_names_without_answers_are_an_input_error(labels):
    pred = np.full((4, 3), 1 / 3)
    with pytest.raises(InputError, match="repeated entries"):
        build_report(labels=labels, pred_probs=pred, classes=["x", "x", "z"])


def test_labels_with_a_repeated_item_are_an_input_error(crowd):
    labels, pred = model_inputs(crowd)
    assert not isinstance(labels.index, pd.RangeIndex)  # aligned by item id
    twice = pd.concat([labels, labels.iloc[[3]]])
    item = labels.index[3]
    shown = repr(item.item() if isinstance(item, np.generic) else item)
    with pytest.raises(InputError, match=re.escape(f"labels has item {shown} more than once")):
        build_report(crowd, labels=twice, pred_probs=pred)

def test_soft_labels_with_other_classes_are_refused(crowd):
    soft = SoftLabels(np.full((3, 2), 0.5), classes=["p", "q"])
    with pytest.raises(InputError, match="differ from the answers' classes"):
        build_report(crowd, soft_labels=soft)


# ---------------------------------------------------------------------- writing
def test_write_report_writes_the_page(tmp_path, crowd):
    out = write_report(tmp_path / "r.html", crowd, created=CREATED)
    assert out == tmp_path / "r.html"
    assert out.read_text(encoding="utf-8") == build_report(crowd, created=CREATED)
    assert list(tmp_path.iterdir()) == [out]


def test_failed_write_leaves_no_file_and_keeps_the_old_one(tmp_path, crowd):
    target = tmp_path / "r.html"
    with pytest.raises(InputError):
        write_report(target, crowd, labels=[0, 1])
    assert not target.exists() and list(tmp_path.iterdir()) == []
    target.write_text("old", encoding="utf-8")
    with pytest.raises(InvalidParameterError):
        write_report(target, crowd, alpha=2.0)
    assert target.read_text(encoding="utf-8") == "old"
    assert list(tmp_path.iterdir()) == [target]


def test_missing_folder_is_an_input_error(tmp_path, crowd):
    with pytest.raises(InputError, match="does not exist"):
        write_report(tmp_path / "nope" / "r.html", crowd)


def test_adult3_report_numbers():
    html = build_report(load_adult3(), created=CREATED)
    assert (fact(html, "Items"), fact(html, "Answers"), fact(html, "Workers")) == (
        "496", "44,373", "338")
    assert 'data-alert="low-agreement"' in html


@pytest.mark.parametrize(
    "created, shown",
    [
        (dt.datetime(2024, 5, 1, 14, 30, tzinfo=dt.timezone(dt.timedelta(hours=2))),
         "2024-05-01 12:30 UTC"),
        (dt.datetime(2024, 5, 1, 14, 30), "2024-05-01 14:30"),
        (dt.date(2024, 5, 1), "2024-05-01"),
        ("release <v2>", "release &lt;v2&gt;"),
    ],
)
def test_time_stamp(created, shown):
    html = build_report(labels=[0, 1, 1], pred_probs=[[0.9, 0.1], [0.2, 0.8], [0.4, 0.6]],
                        created=created)
    assert f"softlabels {__version__} &middot; {shown}" in html


def section(html: str, sid: str) -> str:
    part = html[html.index(f'<section id="{sid}"'):]
    return part[: part.index("</section>")]


def test_label_issues_rank_the_mislabelled_item_first():
    probs = [[0.95, 0.05]] * 4 + [[0.02, 0.98]] + [[0.1, 0.9]] * 4 + [[0.6, 0.4]]
    labels = ["cat"] * 5 + ["dog"] * 5
    html = build_report(labels=labels, pred_probs=probs, classes=["cat", "dog"])
    issues = section(html, "issues")
    first = re.search(r"<tbody>\s*<tr>(.*?)</tr>", issues, re.S).group(1)
    cells = re.findall(r"<td[^>]*>(.*?)</td>", first)
    assert cells[:4] == ["4", "cat", "yes", "dog"]
    assert "&#39;dog&#39; 0.98 vs 0.02" in cells[-1]
    assert fact(html, "Likely label errors") == "1 (10.0%)"


def test_label_issues_agree_with_audit_labels(crowd):
    from softlabels.audit.issues import audit_labels

    labels, pred = model_inputs(crowd)
    ann = Annotations.from_frame(crowd)
    codes = pd.Index(ann.classes).get_indexer(labels.to_numpy())
    expected = audit_labels(codes, pred, SoftLabels.from_counts(ann.counts, ann.classes))
    n = int(expected["is_issue"].sum())
    html = build_report(crowd, labels=labels, pred_probs=pred)
    assert fact(html, "Likely label errors") == f"{n} ({100 * n / len(pred):.1f}%)"
    assert section(html, "issues").count("<td>yes</td>") == min(n, 15)


def test_label_issues_without_given_labels_check_the_consensus(crowd):
    _, pred = model_inputs(crowd)
    issues = section(build_report(crowd, pred_probs=pred), "issues")
    assert "the consensus labels against the model" in issues


def test_conformal_numbers_match_the_audit_functions():
    from softlabels.audit.conformal import SplitConformalClassifier, coverage

    rng = np.random.default_rng(3)
    n, k = 301, 3
    labels = rng.integers(0, k, n)
    logits = 1.5 * np.eye(k)[labels] + rng.normal(0, 1, (n, k))
    pred = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    html = build_report(labels=labels, pred_probs=pred, classes=["a", "b", "c"], alpha=0.2,
                        random_state=5)
    # the split the report documents: a random half calibrates, the rest tests
    perm = np.random.default_rng(5).permutation(n)
    cal, test = perm[: n // 2], perm[n // 2:]
    sets = SplitConformalClassifier("lac", alpha=0.2).fit(pred[cal], labels[cal]).predict_sets(
        pred[test])
    conformal = section(html, "conformal")
    assert f"{100 * coverage(sets, labels[test]):.1f}%" in re.findall(
        r'<div class="value">([^<]*)</div>', conformal)[0]
    for c, name in enumerate("abc"):
        m = labels[test] == c
        row = re.search(rf"<tr><td>{name}</td><td class=\"num\">(\d+)</td>"
                        rf"<td class=\"num\">([\d.]+)%</td>", conformal)
        assert int(row.group(1)) == m.sum()
        assert float(row.group(2)) == pytest.approx(100 * coverage(sets[m], labels[test][m]),
                                                    abs=0.051)


@pytest.mark.parametrize(
    "labels, shown",
    [([np.nan, np.nan], "nan"), ([np.inf, 0.0], "inf"), ([0.0, 1.5], "1.5"),
     ([-1, -2], "-1"), ([0, -3], "-3")],
)
def test_labels_alone_that_are_not_class_indices_are_an_input_error(labels, shown):
    with pytest.raises(InputError, match=rf"labels must be class indices 0, 1, \.\.\. .*row \d+ is {shown}"):
        build_report(labels=labels)


# ---------------------------------------------------------------------- right-to-left text
def _reordering(text: str, names: set[str]) -> str:
    """What is left of ``text`` that can reorder the text around it (right-to-left
    letters, bidi controls) once each name isolated as U+2068 name U+2069 is taken out."""
    import unicodedata

    isolated = re.compile("\u2068([^\u2068\u2069]*)\u2069")

    def known(s: str) -> bool:
        return s in names or (s.endswith("\u2026") and any(n.startswith(s[:-1]) for n in names))

    before = None
    while before != text:  # innermost isolates first
        before = text
        text = isolated.sub(lambda m: "" if known(m.group(1)) else m.group(1), text)
    return "".join(c for c in text if unicodedata.bidirectional(c) in
                   ("R", "AL", "AN", "LRE", "RLE", "LRO", "RLO", "PDF", "LRI", "RLI", "FSI",
                    "PDI"))


def test_right_to_left_names_cannot_reorder_the_text_around_them():
    """A name with right-to-left letters or a bidi override (U+202E) reverses the numbers
    written after it in the same line ('w\u202e: 12 answers, accuracy 0.50' shows
    '05.0 ycarucca ,srewsna 21'); every name is isolated from the text around it."""
    rng = np.random.default_rng(5)
    classes = ["\u05db\u05df", "\u0644\u0627", "c\u202e"]  # Hebrew, Arabic, override
    workers = ["\u05e2\u05d5\u05d1\u05d3", "w\u202e", "x\u2069\u202ey", "plain"]
    items = [f"\u05e4\u05e8\u05d9\u05d8{i}\u202e" for i in range(60)]
    rows = [(item, w, classes[(i + int(rng.random() < 0.3)) % 3])
            for i, item in enumerate(items) for w in workers]
    answers = pd.DataFrame(rows, columns=["item", "worker", "label"])
    labels, pred = model_inputs(answers)
    title = "t\u202e 1"
    html = build_report(answers, labels=labels, pred_probs=pred, method="majority-vote",
                        title=title, created=CREATED)
    names = set(classes + workers + items + [title, "x\ufffd\u202ey"])
    page = Page(html)
    assert [t for t in page.text if _reordering(t, names)] == []
    for tag, attrs in page.tags:
        for value in attrs.values():
            assert not _reordering(value or "", names), (tag, value)


def test_provenance_read_from_soft_labels_is_isolated_too():
    """The method, parameters and version come from a soft-labels file, as names do."""
    soft = SoftLabels([[0.9, 0.1], [0.3, 0.7]], classes=["a", "b"], provenance={
        "method": "m\u202e", "params": {"k\u202e": "v\u05d0"}, "version": "1\u202e"})
    page = Page(build_report(soft_labels=soft, created=CREATED))
    names = {"m\u202e", "k\u202e='v\u05d0'", "1\u202e", "'v\u05d0'"}
    assert [t for t in page.text if _reordering(t, names)] == []


def test_soft_labels_without_items_are_an_input_error():
    empty = SoftLabels(np.zeros((0, 2)), classes=["a", "b"])
    with pytest.raises(InputError, match="soft_labels has no items"):
        build_report(soft_labels=empty)


@pytest.mark.parametrize("with_answers", [True, False], ids=["answers", "classes"])
def test_predictions_as_soft_labels_are_matched_by_class_name(crowd, with_answers):
    """A SoftLabels of predictions whose classes come in another order is read by class
    name; its columns were taken in place, so a perfect model scored 0%."""
    ann = Annotations.from_frame(crowd)
    codes = ann.counts.argmax(axis=1)
    probs = 0.9 * np.eye(3)[codes] + 0.1 / 3
    order = [2, 0, 1]
    pred = SoftLabels(probs[:, order], classes=ann.classes[order], item_ids=ann.item_ids)
    same = SoftLabels(probs, classes=ann.classes, item_ids=ann.item_ids)
    kwargs = dict(labels=np.asarray(ann.classes)[codes])
    if with_answers:
        kwargs.update(answers=crowd, method="majority-vote")
    else:
        kwargs.update(classes=list(ann.classes))
    html = build_report(**kwargs, pred_probs=pred, created=CREATED)
    assert fact(html, "Model accuracy") == "100.0%"
    assert html == build_report(**kwargs, pred_probs=same, created=CREATED)
    other = SoftLabels(probs, classes=["p", "q", "r"], item_ids=ann.item_ids)
    with pytest.raises(InputError, match=r"pred_probs has classes \['p', 'q', 'r'\]"):
        build_report(**kwargs, pred_probs=other)
