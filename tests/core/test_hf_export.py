"""Soft labels to a Hugging Face dataset and back (the ``hf`` extra)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings

from _soft_strategies import soft_labels
from softlabels import InputError, SoftLabels
from softlabels.core.formats import from_hf_dataset, save_hf_dataset, to_hf_dataset

datasets = pytest.importorskip("datasets")

PROV = {"method": "dawid-skene", "params": {"n_iter": 50, "tol": 1e-6}}


def labels(**kwargs) -> SoftLabels:
    base = dict(item_ids=["a", "b", "c"], provenance=PROV, support=[3, 4, 2])
    base.update(kwargs)
    probs = [[0.7, 0.2, 0.1], [0.1, 0.1, 0.8], [1 / 3, 1 / 3, 1 / 3]]
    return SoftLabels(probs, ["cat", "dog", "bird"], **base)


def test_the_columns_features_and_description():
    ds = to_hf_dataset(labels())
    assert ds.column_names == ["item", "label", "confidence", "support", "probs"]
    assert ds.features["label"] == datasets.ClassLabel(names=["cat", "dog", "bird"])
    # probabilities are stored as float64 lists: nothing is rounded to float32
    assert ds.data.schema.field("probs").type == pa.list_(pa.float64())
    assert ds.data.schema.field("confidence").type == pa.float64()
    assert ds["item"][:] == ["a", "b", "c"]
    # the hard label is the most probable class; a tie goes to the first class
    assert ds["label"][:] == [0, 2, 0]
    assert ds["confidence"][:] == [0.7, 0.8, 1 / 3]
    assert ds["support"][:] == [3.0, 4.0, 2.0]
    assert ds[1]["probs"] == [0.1, 0.1, 0.8]
    meta = json.loads(ds.info.description)["softlabels"]
    assert meta["classes"] == ["cat", "dog", "bird"]
    assert meta["provenance"]["method"] == "dawid-skene"
    assert meta["provenance"]["params"] == {"n_iter": 50, "tol": 1e-6}


def test_no_support_column_without_support():
    ds = to_hf_dataset(labels(support=None))
    assert "support" not in ds.column_names
    back = SoftLabels.from_hf(ds)
    assert back.support is None and back.equals(labels(support=None))


def test_round_trip_in_memory_and_through_save_to_disk(tmp_path):
    soft = labels()
    assert SoftLabels.from_hf(soft.to_hf()).equals(soft)
    folder = tmp_path / "ds"
    soft.to_hf().save_to_disk(str(folder))
    loaded = datasets.load_from_disk(str(folder))
    assert loaded.features["label"].names == ["cat", "dog", "bird"]
    assert json.loads(loaded.info.description)["softlabels"]["provenance"] == soft.provenance
    for source in (loaded, folder, str(folder)):
        back = SoftLabels.from_hf(source)
        assert back.equals(soft)  # probabilities exactly, items, classes, support, provenance
        assert back.provenance == soft.provenance


def test_int_classes_come_back_as_ints():
    soft = SoftLabels([[0.25, 0.75], [0.5, 0.5]], [3, 7], item_ids=[10, 20])
    ds = soft.to_hf()
    assert ds.features["label"].names == ["3", "7"]  # ClassLabel names are text
    assert ds.features["item"] == datasets.Value("int64")
    back = SoftLabels.from_hf(ds)
    assert back.classes.tolist() == [3, 7] and back.item_ids.tolist() == [10, 20]
    assert back.equals(soft)


def test_the_dataset_survives_filtering_and_row_selection():
    soft = labels()
    ds = soft.to_hf().filter(lambda row: row["label"] != 2)
    back = SoftLabels.from_hf(ds)
    assert back.item_ids.tolist() == ["a", "c"]
    assert back.equals(soft.take([0, 2]))
    shuffled = SoftLabels.from_hf(soft.to_hf().select([2, 0]))
    assert shuffled.equals(soft.take([2, 0]))


def test_without_metadata_the_class_label_names_are_used():
    ds = to_hf_dataset(labels())
    bare = datasets.Dataset(ds.data, info=datasets.DatasetInfo(features=ds.features))
    back = from_hf_dataset(bare)
    assert back.classes.tolist() == ["cat", "dog", "bird"]
    assert np.array_equal(back.probs, labels().probs)
    assert back.provenance == {"version": back.provenance["version"]}


def test_a_hand_made_dataset_with_given_classes_and_no_item_column():
    ds = datasets.Dataset.from_dict({"p": [[0.5, 0.5], [0.0, 1.0]]})
    back = from_hf_dataset(ds, classes=["no", "yes"], probs_col="p")
    assert back.item_ids.tolist() == [0, 1]
    assert back.hard().tolist() == ["no", "yes"]


@pytest.mark.parametrize(
    "data, kwargs, message",
    [
        ({"probs": [[0.5, 0.5]]}, {}, "no class names"),
        ({"prob": [[0.5, 0.5]]}, {"classes": ["a", "b"]}, "no probability column 'probs'"),
        ({"probs": [0.5, 0.5]}, {"classes": ["a", "b"]}, "must hold a list of probabilities"),
        ({"probs": [[0.5, 0.5], [1.0]]}, {"classes": ["a", "b"]},
         "row 1: 'probs' holds 1 probabilities for 2 classes"),
        ({"probs": [[0.5, 0.5], None]}, {"classes": ["a", "b"]}, "row 1: 'probs' holds no list"),
        ({"probs": [[0.5, None]]}, {"classes": ["a", "b"]}, "none missing"),
        ({"probs": [["x", "y"]]}, {"classes": ["a", "b"]}, "must hold numbers"),
        ({"probs": [[0.5, 0.6]]}, {"classes": ["a", "b"]}, "the dataset: .*sum"),
        ({"probs": [[0.5, 0.5]], "item": [None]}, {"classes": ["a", "b"]},
         "row 0: the item 'item' is empty"),
    ],
)
def test_bad_datasets_are_one_line_errors(data, kwargs, message):
    with pytest.raises(InputError, match=message) as err:
        from_hf_dataset(datasets.Dataset.from_dict(data), **kwargs)
    assert "\n" not in str(err.value)


def test_a_newer_format_is_refused():
    ds = to_hf_dataset(labels())
    info = datasets.DatasetInfo(description=json.dumps({"softlabels": {"format_version": 99}}),
                                features=ds.features)
    with pytest.raises(InputError, match="newer softlabels"):
        from_hf_dataset(datasets.Dataset(ds.data, info=info))


def test_classes_with_the_same_text_and_mixed_item_ids_are_refused():
    with pytest.raises(InputError, match="same text form"):
        to_hf_dataset(SoftLabels([[0.5, 0.5]], np.array([1, "1"], dtype=object)))
    with pytest.raises(InputError, match="item ids mix types"):
        to_hf_dataset(SoftLabels([[1.0, 0.0], [0.0, 1.0]], ["a", "b"],
                                 item_ids=np.array([1, "x"], dtype=object)))


def test_save_hf_dataset_writes_a_new_folder_or_nothing(tmp_path):
    soft = labels()
    save_hf_dataset(soft, tmp_path / "out")
    assert SoftLabels.from_hf(tmp_path / "out").equals(soft)
    with pytest.raises(InputError, match="already exists"):
        save_hf_dataset(soft, tmp_path / "out")
    with pytest.raises(InputError, match="does not exist"):
        save_hf_dataset(soft, tmp_path / "missing" / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no temporary left


def test_a_folder_that_is_not_a_dataset(tmp_path):
    with pytest.raises(InputError, match="not a saved Hugging Face dataset"):
        SoftLabels.from_hf(tmp_path)


# ------------------------------------------------------------------ property

@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(soft=soft_labels(provenance=True))
def test_round_trip_is_exact(soft, tmp_path_factory):
    ds = soft.to_hf()
    back = SoftLabels.from_hf(ds)
    assert back.equals(soft)  # atol=0: every float64 bit for bit
    assert back.classes.tolist() == soft.classes.tolist()
    assert ds.features["label"].names == [str(c) for c in soft.classes.tolist()]
    folder = Path(tmp_path_factory.mktemp("ds")) / "saved"
    save_hf_dataset(soft, folder)
    again = SoftLabels.from_hf(folder)
    assert again.equals(soft) and again.provenance == soft.provenance


# ------------------------------------------------------------------ command line
ANSWERS = "item,worker,label\n1,a,x\n1,b,y\n1,c,y\n2,a,x\n2,b,x\n"


def test_aggregate_writes_a_dataset_folder_and_jsonl(tmp_path, capsys):
    from softlabels.cli import main

    answers = tmp_path / "a.csv"
    answers.write_text(ANSWERS)
    common = ["aggregate", str(answers), "-m", "majority-vote"]
    assert main(common + ["-o", f"hf:{tmp_path / 'ds'}"]) == 0
    assert main(common + ["-o", str(tmp_path / "l.parquet")]) == 0
    assert main(common + ["-o", str(tmp_path / "l.jsonl")]) == 0
    capsys.readouterr()
    reference = SoftLabels.read_parquet(tmp_path / "l.parquet")
    from_hf = SoftLabels.from_hf(tmp_path / "ds")
    assert from_hf.equals(reference) and from_hf.provenance["method"] == "majority-vote"
    assert from_hf.hard().tolist() == ["y", "x"]
    assert datasets.load_from_disk(str(tmp_path / "ds")).features["label"].names == ["x", "y"]
    from_jsonl = SoftLabels.read_jsonl(tmp_path / "l.jsonl")
    assert np.array_equal(from_jsonl.probs, reference.probs)
    assert from_jsonl.item_ids.tolist() == [1, 2] and from_jsonl.support.tolist() == [3.0, 2.0]


@pytest.mark.parametrize("target, message", [
    ("hf:", "-o hf: needs a folder"),
    ("hf:{tmp}/exists", "exists: already exists; a dataset is saved to a new folder."),
    ("hf:{tmp}/none/ds", "the folder .*none does not exist."),
    ("{tmp}/l.txt", "l.txt: write .csv or .parquet or .jsonl."),
])
def test_aggregate_output_errors_are_one_line_exit_2(tmp_path, capsys, target, message):
    from softlabels.cli import main

    answers = tmp_path / "a.csv"
    answers.write_text(ANSWERS)
    (tmp_path / "exists").mkdir()
    code = main(["aggregate", str(answers), "-m", "majority-vote", "-o",
                 target.format(tmp=tmp_path)])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1
    import re

    assert re.search(message, err)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv", "exists"]


def test_without_the_extra_the_cli_names_it(tmp_path, capsys, monkeypatch):
    import sys

    from softlabels.cli import main

    answers = tmp_path / "a.csv"
    answers.write_text(ANSWERS)
    monkeypatch.setitem(sys.modules, "datasets", None)  # import datasets now fails
    code = main(["aggregate", str(answers), "-o", f"hf:{tmp_path / 'ds'}"])
    assert code == 2
    assert "pip install 'softlabels[hf]'" in capsys.readouterr().err
    with pytest.raises(ImportError, match=r"softlabels\[hf\]"):
        SoftLabels([[1.0]], ["a"]).to_hf()


def test_dask_engine_refuses_a_dataset_output(tmp_path, capsys):
    from softlabels.cli import main

    code = main(["aggregate", str(tmp_path / "a.parquet"), "--engine", "dask", "-o", "hf:ds"])
    assert code == 2
    assert "-o hf:FOLDER needs the numpy engine" in capsys.readouterr().err


def test_a_failed_save_leaves_nothing_and_the_bars_setting_is_restored(tmp_path, monkeypatch, capsys):
    assert datasets.is_progress_bar_enabled()
    save_hf_dataset(labels(), tmp_path / "ok")
    assert datasets.is_progress_bar_enabled()
    assert "examples/s" not in capsys.readouterr().err  # no progress bar of its own

    def fail(self, path, **kwargs):
        (Path(path) / "part.arrow").write_bytes(b"half")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(datasets.Dataset, "save_to_disk", fail)
    with pytest.raises(InputError, match=r"out: cannot be written \(No space left on device\); "
                       "nothing was written there."):
        save_hf_dataset(labels(), tmp_path / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ok"]
    assert datasets.is_progress_bar_enabled()


def _soft_label_commands(tmp_path: Path) -> dict[str, list[str]]:
    """The other commands that write soft labels, with small inputs."""
    rng = np.random.default_rng(0)
    np.save(tmp_path / "p.npy", rng.dirichlet(np.ones(3), 40))
    np.save(tmp_path / "y.npy", rng.integers(0, 3, 40))
    (tmp_path / "r.csv").write_text(
        "item,worker,score\n" + "".join(f"{i},w{j},{(i + j) % 5 + 1}\n"
                                        for i in range(12) for j in range(3)))
    (tmp_path / "v.csv").write_text(
        "item,r1,r2,r3\n" + "".join(f"{i},{i % 2},{(i // 2) % 2},{-1 if i % 3 else 1}\n"
                                    for i in range(12)))
    return {
        "calibrate": ["calibrate", "--probs", str(tmp_path / "p.npy"), "--labels",
                      str(tmp_path / "y.npy")],
        "ratings": ["ratings", str(tmp_path / "r.csv"), "--rating-col", "score"],
        "rules fit": ["rules", "fit", str(tmp_path / "v.csv")],
    }


@pytest.mark.parametrize("command", ["calibrate", "ratings", "rules fit"])
def test_every_soft_label_output_takes_jsonl_and_a_dataset_folder(tmp_path, capsys, command):
    from softlabels.cli import main

    args = _soft_label_commands(tmp_path)[command]
    for target in ("l.parquet", "l.jsonl", "hf:ds"):
        out = f"hf:{tmp_path / 'ds'}" if target == "hf:ds" else str(tmp_path / target)
        assert main(args + ["-o", out, "--quiet"]) == 0, capsys.readouterr().err
    reference = SoftLabels.read_parquet(tmp_path / "l.parquet")
    from_hf = SoftLabels.from_hf(tmp_path / "ds")
    assert from_hf.equals(reference) and from_hf.provenance == reference.provenance
    from_jsonl = SoftLabels.read_jsonl(tmp_path / "l.jsonl")
    assert np.array_equal(from_jsonl.probs, reference.probs)
    assert [str(c) for c in from_jsonl.classes] == [str(c) for c in reference.classes]
    # a file type that holds no soft labels is refused before any work, in one line
    code = main(args + ["-o", str(tmp_path / "l.txt")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.endswith("l.txt: write .csv or .parquet or .jsonl.")
    assert len(err.splitlines()) == 1 and not (tmp_path / "l.txt").exists()


def test_a_named_item_column_that_is_absent_is_an_error():
    ds = datasets.Dataset.from_dict({"id": [7, 8], "probs": [[0.5, 0.5], [0.0, 1.0]]})
    with pytest.raises(InputError, match=r"^the dataset: no item column 'ids'; the columns "
                                         r"are 'id', 'probs'\. Did you mean 'id'\?$"):
        from_hf_dataset(ds, classes=["a", "b"], item_col="ids")
    assert from_hf_dataset(ds, classes=["a", "b"], item_col="id").item_ids.tolist() == [7, 8]


def test_uint64_item_ids_round_trip():
    """64-bit hashes as ids: past 2**63 they are not int64 (it said the ids mixed types)."""
    ids = np.array([2**63 + 5, 3], dtype=np.uint64)
    soft = SoftLabels([[0.5, 0.5], [0.0, 1.0]], ["a", "b"], item_ids=ids)
    back = from_hf_dataset(to_hf_dataset(soft))
    assert back.item_ids.tolist() == ids.tolist()
    assert back.equals(soft)
