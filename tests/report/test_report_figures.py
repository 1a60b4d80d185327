"""Every figure the report shows, recomputed here from the same inputs (answers, soft
labels, labels, probabilities) by plain formulas and compared with what the parsed page
says: label facts, section metrics, tables and their order, and the charts' counts."""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest
from _report_helpers import model_inputs

from softlabels import SoftLabels
from softlabels.core.annotations import Annotations
from softlabels.core.defaults import WEAK_CONSENSUS_BELOW, weak_consensus
from softlabels.datasets import make_crowd
from softlabels.report import build_report

CREATED = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.timezone.utc)
NS = "{http://www.w3.org/2000/svg}"


class Parsed(HTMLParser):
    """The page's label facts, and per section: metrics, tables and inline charts."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.facts: dict[str, str] = {}
        self.sections: dict[str, dict] = {}
        self._sid: str | None = None
        self._stack: list[tuple[str, str]] = []  # (tag, class)
        self._buf: list[str] | None = None
        self._row: list[str] | None = None
        self._table: dict | None = None
        self._metric: dict[str, str] = {}
        self._dt = ""
        self.feed(html)
        self.close()
        sid = ""
        for m in re.finditer(r'<section id="([^"]+)"|<svg.*?</svg>', html, flags=re.S):
            if m.group(1):
                sid = m.group(1)
            else:  # each chart parses as XML on its own
                self.sections[sid]["charts"].append(ET.fromstring(m.group(0)))

    def _sec(self) -> dict:
        return self.sections.setdefault(self._sid or "", {"metrics": {}, "tables": [],
                                                          "charts": []})

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        cls = a.get("class") or ""
        if tag == "section":
            self._sid = a["id"]
            self._sec()
        self._stack.append((tag, cls))
        if tag in ("dt", "dd", "td", "th") or (tag == "div" and cls in ("value", "label")):
            self._buf = []
        if tag == "table":
            self._table = {"columns": [], "rows": []}
        if tag == "tr":
            self._row = []

    def handle_endtag(self, tag):
        while self._stack and self._stack[-1][0] != tag:
            self._stack.pop()
        tag_cls = self._stack.pop()[1] if self._stack else ""
        text = "".join(self._buf).strip() if self._buf is not None else ""
        in_facts = self._sid == "summary"
        if tag == "dt" and in_facts:
            self._dt = text
        elif tag == "dd" and in_facts:
            self.facts[self._dt] = text
        elif tag in ("td", "th") and self._row is not None:
            self._row.append(text)
        elif tag == "div" and tag_cls == "value":
            self._metric["value"] = text
        elif tag == "div" and tag_cls == "label":
            self._sec()["metrics"][text] = self._metric.pop("value")
        if tag in ("dt", "dd", "td", "th", "div"):
            self._buf = None
        if tag == "tr" and self._table is not None:
            if self._table["columns"]:
                self._table["rows"].append(self._row)
            else:
                self._table["columns"] = self._row
            self._row = None
        if tag == "table":
            self._sec()["tables"].append(self._table)
            self._table = None

    def handle_data(self, data):
        if self._buf is not None:
            self._buf.append(data)


def parse(html: str) -> Parsed:
    return Parsed(html)


def pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def num(x: float, digits: int = 3) -> str:
    return f"{x:.{digits}f}"


def entropy(p: np.ndarray) -> np.ndarray:
    """Normalised Shannon entropy of each row (0 log 0 = 0)."""
    p = np.asarray(p, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * np.log(p), 0.0)
    return -terms.sum(axis=1) / np.log(p.shape[1])


def chart(section: dict, title_part: str) -> ET.Element:
    found = [c for c in section["charts"] if title_part in c.find(f"{NS}title").text]
    assert len(found) == 1, [c.find(f"{NS}title").text for c in section["charts"]]
    return found[0]


def bar_tips(root: ET.Element, cls: str = "sl-bar") -> list[str]:
    return [r.find(f"{NS}title").text for r in root.iter(f"{NS}rect")
            if cls in (r.get("class") or "").split() and r.find(f"{NS}title") is not None]


def histogram_counts(root: ET.Element) -> list[float]:
    """The count of each bar of a histogram, from its tooltip ('lo – hi: count')."""
    return [float(t.rsplit(": ", 1)[1].replace(",", "")) for t in bar_tips(root)]


# ---------------------------------------------------------------------- inputs
@pytest.fixture(scope="module")
def crowd():
    answers, truth = make_crowd(n_items=150, n_workers=10, n_classes=4, random_state=11,
                                class_prior=[0.5, 0.3, 0.15, 0.05])
    return answers, truth


@pytest.fixture(scope="module")
def full(crowd):
    answers, _ = crowd
    labels, pred = model_inputs(answers, seed=3)
    html = build_report(answers, labels=labels, pred_probs=pred, method="dawid-skene",
                        created=CREATED)
    ann = Annotations.from_frame(answers)
    from softlabels import aggregate

    soft = aggregate(ann, method="dawid-skene")
    return {"html": html, "page": parse(html), "ann": ann, "soft": soft,
            "labels": pd.Index(ann.classes).get_indexer(labels.loc[ann.item_ids].to_numpy()),
            "pred": pred, "answers": answers}


# ---------------------------------------------------------------------- facts
def test_label_facts(full):
    ann, soft, answers = full["ann"], full["soft"], full["answers"]
    facts = full["page"].facts
    p = soft.probs
    assert facts["Items"] == f"{answers['item'].nunique():,}"
    assert facts["Classes"] == str(answers["label"].nunique())
    assert facts["Answers"] == f"{len(answers):,}"
    assert facts["Workers"] == f"{answers['worker'].nunique():,}"
    assert facts["Answers per item"] == f"{len(answers) / answers['item'].nunique():,.1f}"
    weak = (p.max(axis=1) < WEAK_CONSENSUS_BELOW).mean()
    assert weak == weak_consensus(p).mean()
    assert facts[f"Weak consensus (< {100 * WEAK_CONSENSUS_BELOW:.0f}%)"] == pct(weak)
    assert facts["Mean ambiguity (entropy)"] == num(entropy(p).mean())
    hard = np.bincount(p.argmax(axis=1), minlength=p.shape[1])
    assert facts["Largest / smallest class"] == f"{hard.max() / hard[hard > 0].min():,.1f} : 1"


def test_class_balance_table(full):
    answers, soft, labels = full["answers"], full["soft"], full["labels"]
    sec = full["page"].sections["class-balance"]
    (tab,) = sec["tables"]
    assert tab["columns"] == ["class", "answers", "answer share", "consensus items",
                              "soft-label mass", "given labels"]
    per_class = answers["label"].value_counts()
    hard = pd.Series(soft.probs.argmax(axis=1)).map(dict(enumerate(soft.classes)))
    hard = hard.value_counts()
    mass = dict(zip(soft.classes, soft.probs.sum(axis=0)))
    given = pd.Series(np.asarray(soft.classes)[labels]).value_counts()
    shown = []
    for cls, n_ans, share, n_hard, m, n_given in tab["rows"]:
        c = int(cls) if isinstance(soft.classes[0], (int, np.integer)) else cls
        shown.append(c)
        assert n_ans == f"{per_class.get(c, 0):,}"
        assert share == pct(per_class.get(c, 0) / len(answers))
        assert n_hard == f"{hard.get(c, 0):,}"
        assert m == pct(mass[c] / soft.n_items)
        assert n_given == f"{given.get(c, 0):,}"
    # largest consensus class first
    assert [hard.get(c, 0) for c in shown] == sorted(hard.reindex(shown, fill_value=0),
                                                      reverse=True)
    assert sec["metrics"]["empty classes"] == str(int((hard.reindex(soft.classes,
                                                                  fill_value=0) == 0).sum()))


def test_ambiguity_metrics_and_histograms_count_every_item(full):
    ann, soft = full["ann"], full["soft"]
    sec = full["page"].sections["ambiguity"]
    votes = ann.counts / ann.counts.sum(axis=1, keepdims=True)
    m = sec["metrics"]
    assert m["mean vote entropy"] == num(entropy(votes).mean())
    assert m["mean entropy"] == num(entropy(soft.probs).mean())
    assert m["unanimous items"] == pct((votes.max(axis=1) == 1.0).mean())
    assert m["median confidence"] == num(np.median(soft.probs.max(axis=1)))
    assert m[f"confidence < {100 * WEAK_CONSENSUS_BELOW:.0f}%"] == pct(
        weak_consensus(soft.probs).mean())
    for title, values in (("vote shares", entropy(votes)), ("Consensus", entropy(soft.probs))):
        counts = histogram_counts(chart(sec, title))
        assert sum(counts) == soft.n_items
        expected, _ = np.histogram(np.clip(values, 0, 1), bins=20, range=(0, 1))
        assert counts == expected.tolist()


def test_weakest_consensus_table_is_in_the_documented_order(full):
    ann, soft = full["ann"], full["soft"]
    (tab,) = full["page"].sections["weak-consensus"]["tables"]
    conf = soft.probs.max(axis=1)
    hv = entropy(ann.counts / ann.counts.sum(axis=1, keepdims=True))
    # lowest confidence first, ties: larger vote entropy first, then item order
    order = sorted(range(soft.n_items), key=lambda i: (conf[i], -hv[i], i))[:15]
    assert [r[0] for r in tab["rows"]] == [str(soft.item_ids[i]) for i in order]
    for row, i in zip(tab["rows"], order):
        assert row[1] == str(soft.classes[soft.probs[i].argmax()])
        assert row[2:5] == [num(conf[i]), num(entropy(soft.probs[i:i + 1])[0]), num(hv[i])]
        counts = ann.counts[i]
        assert sorted(row[5].split(" \u00b7 ")) == sorted(
            f"{soft.classes[k]}\u00d7{int(counts[k])}" for k in np.flatnonzero(counts))


def test_calibration_numbers_and_reliability_bins(full):
    pred, labels = full["pred"], full["labels"]
    sec = full["page"].sections["calibration"]
    m = sec["metrics"]
    top = pred.argmax(axis=1)
    conf = pred.max(axis=1)
    hit = (top == labels).astype(float)
    n = len(labels)
    assert m["accuracy"] == pct(hit.mean()) == full["page"].facts["Model accuracy"]
    assert m["mean confidence"] == pct(conf.mean())
    bins = np.minimum((conf * 10).astype(int), 9)  # ten equal-width bins
    ece = sum(abs(hit[bins == b].sum() - conf[bins == b].sum()) for b in range(10)) / n
    assert m["ECE"] == num(ece) == full["page"].facts["Calibration error (ECE)"]
    onehot = np.eye(pred.shape[1])[labels]
    assert m["Brier score"] == num(((pred - onehot) ** 2).sum(axis=1).mean())
    assert m["log loss"] == num(-np.log(pred[np.arange(n), labels]).mean())
    classwise = []
    for k in range(pred.shape[1]):
        s, y = pred[:, k], (labels == k).astype(float)
        b = np.minimum((s * 10).astype(int), 9)
        classwise.append(sum(abs(y[b == j].sum() - s[b == j].sum()) for j in range(10)) / n)
    assert m["class-wise ECE"] == num(np.mean(classwise))
    h = full["soft"].probs
    with np.errstate(divide="ignore", invalid="ignore"):
        kl = np.where(h > 0, h * np.log(h / pred), 0.0).sum(axis=1).mean()
    assert m["KL(crowd \u2016 model)"] == num(kl)
    # the diagram: one bar of items per bin, adding up to every item
    root = chart(sec, "Reliability")
    items = [t for t in bar_tips(root, "sl-muted")]
    shown = [int(re.match(r"([\d,]+) items", t).group(1).replace(",", "")) for t in items]
    assert shown == np.bincount(bins, minlength=10).tolist()
    assert sum(shown) == n
    for t in bar_tips(root):
        if t.startswith("confidence"):
            lo = float(re.match(r"confidence ([\d.]+)", t).group(1))
            b = int(round(lo * 10))
            acc = float(re.search(r"accuracy ([\d.]+)", t).group(1))
            assert acc == pytest.approx(hit[bins == b].mean(), abs=5e-4)


def test_label_issues_are_listed_flagged_first_then_by_score(full):
    from softlabels.audit.issues import audit_labels

    ann, labels, pred = full["ann"], full["labels"], full["pred"]
    audit = audit_labels(labels, pred, SoftLabels.from_counts(ann.counts, ann.classes))
    sec = full["page"].sections["issues"]
    tab = sec["tables"][0]
    flagged = audit["is_issue"].to_numpy()
    score = audit["score"].to_numpy()
    order = sorted(range(len(labels)), key=lambda i: (not flagged[i], score[i], i))[:15]
    assert [r[0] for r in tab["rows"]] == [str(ann.item_ids[i]) for i in order]
    assert [r[2] for r in tab["rows"]] == ["yes" if flagged[i] else "no" for i in order]
    assert sec["metrics"]["flagged items"] == str(int(flagged.sum()))
    assert sec["metrics"]["flagged share"] == pct(flagged.mean())
    assert full["page"].facts["Likely label errors"] == (
        f"{int(flagged.sum())} ({pct(flagged.mean())})")


def test_annotator_metrics(full):
    answers = full["answers"]
    m = full["page"].sections["annotators"]["metrics"]
    per_worker = answers.groupby("worker").size()
    assert m["workers"] == str(answers["worker"].nunique())
    assert m["answers per worker"] == f"{np.median(per_worker):,.0f}"


# ---------------------------------------------------------------------- degenerate inputs
def _votes(n_items: int, pattern: str) -> pd.DataFrame:
    """Every item answered once by each worker, worker j giving ``pattern[j]``."""
    return pd.DataFrame({"item": np.repeat(np.arange(n_items), len(pattern)),
                         "worker": np.tile(np.arange(len(pattern)), n_items),
                         "label": np.tile(list(pattern), n_items)})


DEGENERATE = {
    "one item": dict(answers=_votes(1, "aab"), method="majority-vote"),
    "one answer": dict(answers=_votes(1, "a"), classes=["a", "b"], method="majority-vote"),
    "all items identical": dict(answers=_votes(40, "aab"), method="majority-vote"),
    "votes uniform over 3": dict(answers=_votes(12, "abc"), method="majority-vote"),
    "votes uniform over 5": dict(answers=_votes(12, "abcde"), method="majority-vote"),
    "votes uniform over 7": dict(answers=_votes(12, "abcdefg"), method="majority-vote"),
    "soft labels uniform over 5": dict(
        soft_labels=SoftLabels(np.full((9, 5), 0.2), classes=list("abcde"))),
    "soft labels of one item": dict(soft_labels=SoftLabels([[1.0, 0.0]], classes=["x", "y"])),
    "every probability 1.0": dict(labels=np.arange(60) % 2,
                                  pred_probs=np.eye(2)[np.arange(60) % 2]),
    "every probability 1.0, all wrong": dict(labels=np.arange(60) % 2,
                                             pred_probs=np.eye(2)[(np.arange(60) + 1) % 2]),
    "predictions uniform": dict(labels=np.arange(60) % 2, pred_probs=np.full((60, 2), 0.5)),
    "one item with a prediction": dict(labels=[0], pred_probs=[[1.0, 0.0]]),
}


@pytest.mark.parametrize("inputs", list(DEGENERATE.values()), ids=list(DEGENERATE))
def test_degenerate_inputs_give_finite_charts_that_count_every_item(inputs):
    page = parse(build_report(**inputs, created=CREATED))
    n_items = int(page.facts["Items"].replace(",", ""))
    for sid, sec in page.sections.items():
        for root in sec["charts"]:
            title = root.find(f"{NS}title").text
            for el in root.iter():
                for name in ("x", "y", "x1", "x2", "y1", "y2", "cx", "cy", "width", "height"):
                    if name in el.attrib and el.tag != f"{NS}svg":
                        assert np.isfinite(float(el.get(name))), (sid, title, name)
            if "entropy" in title:
                assert sum(histogram_counts(root)) == n_items, (sid, title)
            if "Reliability" in title:
                shown = [int(re.match(r"([\d,]+) items", t).group(1).replace(",", ""))
                         for t in bar_tips(root, "sl-muted")]
                assert sum(shown) == n_items, title
    if "ambiguity" in page.sections:  # the mean is marked on every entropy histogram
        for root in page.sections["ambiguity"]["charts"]:
            assert any(el.get("class") == "sl-mark" for el in root.iter(f"{NS}line"))


def test_worker_tables_rank_by_accuracy(full):
    from softlabels.audit.agreement import annotator_table

    tab = annotator_table(full["ann"])
    sec = full["page"].sections["annotators"]
    best, worst = sec["tables"][:2]
    rankable = [i for i in range(len(tab)) if tab["n_items"].iat[i] >= 10
                and np.isfinite(tab["accuracy"].iat[i])]
    ranked = sorted(rankable, key=lambda i: (-tab["accuracy"].iat[i], -tab["n_answers"].iat[i], i))
    half = 8  # (max_rows + 1) // 2
    assert [r[0] for r in best["rows"]] == [str(tab["worker"].iat[i]) for i in ranked[:half]]
    rest = ranked[half:][::-1][:half]
    assert [r[0] for r in worst["rows"]] == [str(tab["worker"].iat[i]) for i in rest]
    for row in best["rows"] + worst["rows"]:
        i = int(np.flatnonzero(tab["worker"].astype(str).to_numpy() == row[0])[0])
        assert row[1:6] == [f"{tab['n_answers'].iat[i]:,}", f"{tab['n_items'].iat[i]:,}",
                            num(tab["accuracy"].iat[i]), num(tab["agreement"].iat[i]),
                            num(tab["spammer_score"].iat[i])]


def test_conformal_set_sizes_count_the_test_half(full):
    sec = full["page"].sections["conformal"]
    root = chart(sec, "Prediction-set sizes")
    sizes = [float(t.rsplit(": ", 1)[1].replace(",", "")) for t in bar_tips(root)]
    n_test = full["soft"].n_items - full["soft"].n_items // 2
    assert sum(sizes) == n_test
    singletons = sizes[1] / n_test
    assert sec["metrics"]["singletons"] == pct(singletons)
    assert sec["metrics"]["empty sets"] == pct(sizes[0] / n_test)
    mean = sum(k * c for k, c in enumerate(sizes)) / n_test
    assert sec["metrics"]["mean set size"] == num(mean, 2)


# ---------------------------------------------------------------------- shares
def test_a_share_that_is_neither_none_nor_all_never_reads_0_or_100_percent():
    """One flagged item of 2,500 is 0.04%, not '0.0%' beside the count 1 (fmt_num keeps
    two significant digits for the same reason), and a coverage of 2,499 of 2,500 is not
    '100.0%'."""
    from softlabels.report.data import fmt_pct

    n = 2500
    labels = np.arange(n) % 2
    pred = np.where(np.eye(2)[labels] == 1, 0.9, 0.1)
    pred[0] = [0.01, 0.99]  # item 0, labelled 0: the one label the model disputes
    page = parse(build_report(labels=labels, pred_probs=pred, created=CREATED))
    assert page.facts["Likely label errors"] == "1 (0.04%)"
    assert page.sections["issues"]["metrics"]["flagged share"] == "0.04%"
    assert [fmt_pct(x) for x in (0.0, 1 / 2500, 0.5, 2499 / 2500, 1.0)] == [
        "0.0%", "0.04%", "50.0%", "99.96%", "100.0%"]
    assert fmt_pct(0.123456, 2) == "12.35%"
    # float noise around 0 and 1 (a class holding all the soft-label mass) is not a share
    # (1 - trace of a noise matrix can be -2e-16: no '-0.0%')
    assert [fmt_pct(x) for x in (1 - 2e-16, 2e-17, -2e-16)] == ["100.0%", "0.0%", "0.0%"]
    soft = SoftLabels(np.tile([[0.1, 0.7, 0.2]], (30, 1)), classes=["a", "b", "c"])
    mass = parse(build_report(soft_labels=soft)).sections["class-balance"]["tables"][0]
    assert {r[0]: r[-1] for r in mass["rows"]} == {"a": "10.0%", "b": "70.0%", "c": "20.0%"}


def test_class_balance_bars_say_the_shares_of_the_table():
    """One answer of 4,001 for class c: the table says 0.02%, and so does its bar (it
    said 0.0%)."""
    rows = [(i, w, "a" if i % 2 else "b") for i in range(1000) for w in range(4)]
    rows.append((0, 9, "c"))
    answers = pd.DataFrame(rows, columns=["item", "worker", "label"])
    sec = parse(build_report(answers, method="majority-vote", created=CREATED)
                ).sections["class-balance"]
    share = {r[0]: r[2] for r in sec["tables"][0]["rows"]}
    assert share["c"] == "0.02%"
    root = sec["charts"][0]
    for tip in bar_tips(root):
        cls, rest = tip.split(" \u2014 ", 1)
        series, value = rest.rsplit(": ", 1)
        if series == "answers":
            assert value == share[cls], tip


def test_kl_of_a_model_equal_to_the_crowd_is_zero():
    """KL(crowd || model) is never negative; rounding made it -2.2e-16 for a model that
    equals the crowd, which the page wrote out (tiny numbers keep two digits)."""
    from softlabels.audit.calibration import calibration_report

    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.full(2, 0.5), 200)  # advances the generator to a case that shows it
    p = rng.dirichlet(np.full(3, 0.5), 200)
    soft = SoftLabels(p, classes=["a", "b", "c"])
    from softlabels.core.validation import check_pred_probs

    raw = calibration_report(check_pred_probs(p), soft.probs, soft_labels=soft.probs)["kl"]
    assert raw < 0  # the rounding the page must not show
    m = parse(build_report(soft_labels=soft, pred_probs=p)).sections["calibration"]["metrics"]
    assert m["KL(crowd \u2016 model)"] == "0.000"


def test_a_perfect_model_scores_zero_not_float_noise():
    """One-hot predictions that are all right: every calibration error is 0. The page
    wrote ECE 1.2e-16 (the probabilities are clipped by 1e-16 before binning) and a log
    loss of -0.000."""
    labels = np.arange(60) % 2
    page = parse(build_report(labels=labels, pred_probs=np.eye(2)[labels]))
    m = page.sections["calibration"]["metrics"]
    for name in ("ECE", "ECE, equal-mass bins", "class-wise ECE", "Brier score", "log loss"):
        assert m[name] == "0.000", (name, m[name])
    assert page.facts["Calibration error (ECE)"] == "0.000"
    from softlabels.report.data import fmt_num

    assert fmt_num(-0.0) == "0.000"
