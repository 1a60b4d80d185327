"""`softlabels store pack|info|unpack`: outputs and bad input (exit 2, one line, no file)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from softlabels import SoftLabels
from softlabels.cli import main
from softlabels.store import LabelStore, TopK, ViewLabels


def run(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture()
def soft_file(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    soft = SoftLabels(
        rng.dirichlet(np.full(20, 0.2), size=120), [f"c{i}" for i in range(20)],
        provenance={"method": "dawid-skene"},
    )
    path = tmp_path / "soft.parquet"
    soft.save(path)
    return path


def test_pack_info_unpack(soft_file, tmp_path, capsys):
    store = tmp_path / "s.store"
    code, out, err = run(capsys, "store", "pack", soft_file, "-o", store, "--codec", "topk", "--k", "4",
                         "--values", "log8", "--items-per-group", "50")
    assert code == 0, err
    assert "packed 120 items" in out and "mean KL(original ‖ decoded)" in out
    code, out, err = run(capsys, "store", "info", store, "--json")
    assert code == 0, err
    (table,) = json.loads(out)["tables"]
    summary = table["table"]
    assert summary["items"] == 120 and summary["row groups"] == 3 and summary["classes"] == 20
    assert summary["codec"].startswith("topk(k=4, index=uint16, values=log8")
    assert summary["class names"].startswith("c0, c1, ")
    assert summary["label bytes"] == 120 * 12 and summary["label bytes per item"] == 12.0
    assert json.loads(summary["provenance"])["method"] == "dawid-skene"
    soft = SoftLabels.read_parquet(soft_file)
    assert summary["mean KL(original ‖ decoded)"] == pytest.approx(
        TopK(4, values="log8").fidelity(soft.probs).mean_kl, rel=1e-3
    )
    code, out, err = run(capsys, "store", "unpack", store, "-o", tmp_path / "back.parquet",
                         "--start", 100)
    assert code == 0, err
    back = SoftLabels.read_parquet(tmp_path / "back.parquet")
    assert back.item_ids.tolist() == list(range(100, 120))
    codec = TopK(4, values="log8")
    np.testing.assert_allclose(back.probs, codec.decode(codec.encode(soft.probs[100:]), 20), atol=1e-12)
    assert back.provenance == soft.provenance


def test_append_through_the_command_line(soft_file, tmp_path, capsys):
    store = tmp_path / "s.store"
    assert run(capsys, "store", "pack", soft_file, "-o", store, "--codec", "dense", "--dtype", "float16")[0] == 0
    more = SoftLabels(np.full((3, 20), 0.05), [f"c{i}" for i in range(20)], [500, 501, 502])
    more.save(tmp_path / "more.csv")
    code, out, err = run(capsys, "store", "pack", tmp_path / "more.csv", "-o", store, "--append")
    assert code == 0, err
    assert "appended 3 items" in out and LabelStore(store).n_items == 123


def test_unpack_views(tmp_path, capsys):
    rng = np.random.default_rng(1)
    views = ViewLabels(rng.dirichlet(np.ones(6), size=4), list("abcdef"), [7, 7, 8, 8],
                       boxes=rng.random((4, 4)), flips=[True, False, False, True])
    LabelStore.create(tmp_path / "v", views, TopK(2))
    code, out, err = run(capsys, "store", "unpack", tmp_path / "v", "-o", tmp_path / "v.csv")
    assert code == 0, err
    import pandas as pd

    frame = pd.read_csv(tmp_path / "v.csv")
    assert frame.columns.tolist() == ["item", "top", "left", "height", "width", "flip", *"abcdef"]
    assert frame["flip"].tolist() == [True, False, False, True]
    np.testing.assert_allclose(frame[list("abcdef")].sum(axis=1), 1.0)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--codec", "zip"], "--codec must be one of"),
        (["--codec", "dense", "--k", "3"], "--k: not an option of the dense codec"),
        (["--k", "0"], "--k must be >= 1"),
        (["--k", "50"], "--k 50 is more than the 20 classes of"),
        (["--values", "float8"], "--values must be one of"),
        (["--codec", "topk-packed", "--fill", "zero"], "--fill must be 'marginal' or 'renorm'"),
        (["--compression", "rar"], "compression must be one of"),
        (["--append", "--overwrite"], "--append and --overwrite exclude each other"),
        (["--items-per-group", "0"], "--items-per-group must be >= 1"),
    ],
)
def test_bad_pack_options(soft_file, tmp_path, capsys, args, message):
    code, out, err = run(capsys, "store", "pack", soft_file, "-o", tmp_path / "t.store", *args)
    assert code == 2
    assert err.startswith("error: ") and message in err and err.count("\n") == 1
    assert not (tmp_path / "t.store").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["soft.parquet"]  # nothing half-written


def test_bad_paths(soft_file, tmp_path, capsys):
    store = tmp_path / "s.store"
    run(capsys, "store", "pack", soft_file, "-o", store)
    manifest = (store / "manifest.json").read_bytes()
    cases = [
        (["store", "pack", soft_file, "-o", store], "already exists; use --append or --overwrite"),
        (["store", "pack", soft_file, "-o", store, "--append"], "item 0 is already in the store"),
        (["store", "pack", soft_file, "-o", store, "--append", "--k", "3"], "--append takes the codec"),
        (["store", "pack", tmp_path / "none.csv", "-o", tmp_path / "t"], "none.csv: no such file"),
        (["store", "pack", soft_file, "-o", tmp_path / "t", "--codec", "topk", "--k", "2"], None),
        (["store", "info", tmp_path / "nowhere"], "not a label store"),
        (["store", "unpack", store, "-o", tmp_path / "out.txt"], "write .csv or .parquet"),
        (["store", "unpack", store, "-o", tmp_path / "x.csv", "--start", "-1"], "--start must be >= 0"),
    ]
    for argv, message in cases:
        code, out, err = run(capsys, *argv)
        if message is None:
            assert code == 0, err
            continue
        assert code == 2 and message in err and err.count("\n") == 1, (argv, err)
    assert (store / "manifest.json").read_bytes() == manifest
    assert not (tmp_path / "out.txt").exists() and not (tmp_path / "x.csv").exists()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("item,worker,label\n1,w1,cat\n", "'w1'"),
        ("item,label,confidence,a,b\n1,a,0.6,0.6,0.6\n", "1 rows do not sum to 1"),
        ("item,label,confidence,a,b\n1,a,0.6,,0.4\n", "non-finite"),
    ],
)
def test_pack_of_a_bad_table_names_the_file(tmp_path, capsys, text, message):
    src = tmp_path / "in.csv"
    src.write_text(text)
    code, _, err = run(capsys, "store", "pack", src, "-o", tmp_path / "s.store")
    assert code == 2 and err.count("\n") == 1, err
    assert err.startswith(f"error: {src}: ") and message in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]


def test_append_errors_name_the_store(soft_file, tmp_path, capsys):
    store = tmp_path / "s.store"
    run(capsys, "store", "pack", soft_file, "-o", store)
    code, _, err = run(capsys, "store", "pack", soft_file, "-o", store, "--append")
    assert code == 2 and err.startswith(f"error: {store}: item 0 is already in the store"), err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--start", "5", "--stop", "2"], "--start 5 is after --stop 2"),
        (["--start", "120"], "--start 120: the store holds 120 items (positions 0 to 119)"),
        (["--start", "500", "--stop", "600"], "the store holds 120 items"),
    ],
)
def test_unpack_of_no_items_is_an_error(soft_file, tmp_path, capsys, args, message):
    store = tmp_path / "s.store"
    run(capsys, "store", "pack", soft_file, "-o", store)
    code, _, err = run(capsys, "store", "unpack", store, "-o", tmp_path / "out.csv", *args)
    assert code == 2 and message in err and err.count("\n") == 1, err
    assert not (tmp_path / "out.csv").exists()


def test_default_k_above_the_classes_names_the_option(tmp_path, capsys):
    src = tmp_path / "three.csv"
    SoftLabels(np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]]), ["a", "b", "c"]).save(src)
    code, _, err = run(capsys, "store", "pack", src, "-o", tmp_path / "s.store")
    assert code == 2 and err.count("\n") == 1, err
    assert f"--k 5 (the default) is more than the 3 classes of {src}" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["three.csv"]
