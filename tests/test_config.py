"""Strict YAML training configs: unknown or mistyped keys fail naming the file and the key,
`--set` overrides, and the shipped configs load."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from features.cli import main
from training.config import (
    PROJECT_ROOT,
    BaselineModelConfig,
    ConfigError,
    TrainConfig,
    apply_override,
    load_config,
    resolved_yaml,
)

SHIPPED = sorted((PROJECT_ROOT / "configs").glob("*.yaml"))
BASELINE_YAML = PROJECT_ROOT / "configs" / "baseline.yaml"


def write(tmp_path: Path, text: str, name: str = "run.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def config_error(path: Path, overrides: list[str] = ()) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(path, list(overrides))
    return str(info.value)


# --- loading -------------------------------------------------------------------------------


def test_minimal_yaml_loads_with_defaults(tmp_path):
    cfg = load_config(write(tmp_path, "seed: 3\ndata:\n  split_seed: 5\n"))
    assert cfg.seed == 3
    assert cfg.data.split_seed == 5
    assert cfg.data.split_fractions == (0.7, 0.15, 0.15)
    assert cfg.data.feature_view == "pre_decision"
    assert isinstance(cfg.model, BaselineModelConfig)
    assert cfg.model.classifier.C == 1.0
    assert cfg.mlflow.registered_model_name == "imr-baseline"
    assert cfg.mlflow.alias == "candidate"


def test_empty_yaml_is_all_defaults(tmp_path):
    assert load_config(write(tmp_path, "")) == TrainConfig()
    assert load_config(write(tmp_path, "# only a comment\n", "c.yaml")) == TrainConfig()


def test_full_baseline_section(tmp_path):
    cfg = load_config(write(tmp_path, """
model:
  family: baseline
  text_tfidf: {analyzer: char_wb, ngram_range: [3, 5], min_df: 1, max_features: null, sublinear_tf: false}
  treatment_tfidf: {analyzer: word}
  metadata_columns: true
  classifier: {C: 0.25, class_weight: null, max_iter: 50}
"""))
    m = cfg.model
    assert m.text_tfidf.analyzer == "char_wb"
    assert m.text_tfidf.ngram_range == (3, 5)
    assert m.text_tfidf.max_features is None
    assert m.text_tfidf.sublinear_tf is False
    assert m.treatment_tfidf is not None and m.treatment_tfidf.analyzer == "word"
    assert m.treatment_tfidf.min_df == 2  # default inside a given section
    assert m.metadata_columns is True
    assert (m.classifier.C, m.classifier.class_weight, m.classifier.max_iter) == (0.25, None, 50)


@pytest.mark.parametrize("path", SHIPPED, ids=[p.name for p in SHIPPED])
def test_every_shipped_config_loads(path):
    cfg = load_config(path)
    assert cfg.model.family in ("baseline", "transformer")
    # round trip: the resolved YAML logged with each run loads back to the same config
    assert TrainConfig.model_validate(yaml.safe_load(resolved_yaml(cfg))) == cfg


def test_shipped_baseline_yaml_equals_the_defaults():
    cfg = load_config(BASELINE_YAML)
    assert cfg == TrainConfig()
    assert cfg.model.family == "baseline"
    assert cfg.data.sources == ["../shared/data/dwc-imr-letters", "../shared/data/seed-letters"]
    assert cfg.model.text_tfidf.max_features == 50_000
    assert cfg.model.treatment_tfidf is None
    assert cfg.mlflow.registered_model_name == "imr-baseline"
    assert cfg.mlflow.alias == "candidate"


def test_source_paths_resolve_against_project_root_not_cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = load_config(write(tmp_path, f"data:\n  sources: [letters/a, {tmp_path / 'abs'}]\n"))
    assert cfg.data.source_paths() == [PROJECT_ROOT / "letters" / "a", tmp_path / "abs"]


def test_resolved_yaml_round_trips_through_a_file(tmp_path):
    cfg = load_config(BASELINE_YAML, ["model.classifier.C=0.3", "seed=11"])
    again = load_config(write(tmp_path, resolved_yaml(cfg)))
    assert again == cfg
    assert again.model.classifier.C == 0.3 and again.seed == 11


# --- unknown keys, wrong types: file and key named -----------------------------------------


def test_unknown_top_level_key_names_file_and_key(tmp_path):
    path = write(tmp_path, "seeds: 1\n", "my_run.yaml")
    msg = config_error(path)
    assert "my_run.yaml" in msg
    assert "seeds" in msg


def test_unknown_nested_key_names_the_key_path(tmp_path):
    msg = config_error(write(tmp_path, "data:\n  sourcez: [a]\n", "typo.yaml"))
    assert "typo.yaml" in msg
    assert "data.sourcez" in msg


def test_unknown_model_key_names_the_yaml_key_path(tmp_path):
    """The path the user must fix in the YAML is model.classifer; the union tag pydantic puts in
    its error location ("model.baseline.classifer") is not a key of the file."""
    msg = config_error(write(tmp_path, "model:\n  family: baseline\n  classifer: {}\n", "typo.yaml"))
    assert "typo.yaml" in msg
    assert "model.classifer" in msg


def test_mistyped_model_value_names_the_yaml_key_path(tmp_path):
    msg = config_error(write(tmp_path, "model:\n  family: baseline\n  classifier: {C: lots}\n", "c.yaml"))
    assert "c.yaml" in msg
    assert "model.classifier.C" in msg


def test_wrong_type_names_the_key(tmp_path):
    msg = config_error(write(tmp_path, "data:\n  split_seed: abc\n", "wrong.yaml"))
    assert "wrong.yaml" in msg
    assert "data.split_seed" in msg
    msg = config_error(write(tmp_path, "seed: [1, 2]\n", "wrong2.yaml"))
    assert "wrong2.yaml" in msg and "seed" in msg


def test_out_of_range_and_bad_choice_name_the_key(tmp_path):
    msg = config_error(write(tmp_path, "model:\n  family: baseline\n  classifier: {C: -1}\n"))
    assert "C" in msg and "greater than 0" in msg
    msg = config_error(write(tmp_path, "data:\n  feature_view: post_decision\n", "v.yaml"))
    assert "data.feature_view" in msg and "v.yaml" in msg


def test_unknown_model_family_is_rejected(tmp_path):
    msg = config_error(write(tmp_path, "model:\n  family: random_forest\n", "f.yaml"))
    assert "f.yaml" in msg and "model" in msg and "random_forest" in msg


def test_model_section_without_family_is_baseline_or_a_clear_error(tmp_path):
    """Either the default family applies, or the error says which key is missing."""
    path = write(tmp_path, "model:\n  classifier: {C: 0.5}\n", "nofamily.yaml")
    try:
        cfg = load_config(path)
    except ConfigError as exc:
        msg = str(exc)
        assert "nofamily.yaml" in msg and "model" in msg and "family" in msg
    else:
        assert cfg.model.family == "baseline" and cfg.model.classifier.C == 0.5


def test_split_fractions_must_sum_to_one(tmp_path):
    msg = config_error(write(tmp_path, "data:\n  split_fractions: [0.5, 0.5, 0.5]\n", "s.yaml"))
    assert "s.yaml" in msg and "data.split_fractions" in msg
    msg = config_error(write(tmp_path, "data:\n  split_fractions: [1.0, 0.0, 0.0]\n", "z.yaml"))
    assert "data.split_fractions" in msg
    msg = config_error(write(tmp_path, "data:\n  split_fractions: [0.5, 0.5]\n", "two.yaml"))
    assert "data.split_fractions" in msg


def test_several_problems_are_all_reported(tmp_path):
    msg = config_error(write(tmp_path, "seeds: 1\ndata:\n  split_seed: x\n"))
    assert "seeds" in msg and "data.split_seed" in msg


@pytest.mark.parametrize("text, expect", [
    ("seed: [1\n", "not valid YAML"),
    ("- a\n- b\n", "top level must be a mapping"),
    ("just a string\n", "top level must be a mapping"),
])
def test_not_a_config_file(tmp_path, text, expect):
    msg = config_error(write(tmp_path, text, "bad.yaml"))
    assert "bad.yaml" in msg and expect in msg


def test_missing_file_names_it(tmp_path):
    msg = config_error(tmp_path / "nowhere.yaml")
    assert "nowhere.yaml" in msg and "cannot read" in msg


# --- --set overrides -----------------------------------------------------------------------


def test_set_overrides_nested_key(tmp_path):
    cfg = load_config(BASELINE_YAML, ["model.classifier.C=0.5"])
    assert cfg.model.classifier.C == 0.5
    assert isinstance(cfg.model.classifier.C, float)
    # everything else stays as in the file
    assert cfg.model_copy(update={"model": TrainConfig().model}) == TrainConfig()


def test_set_values_are_yaml_scalars_and_lists(tmp_path):
    cfg = load_config(BASELINE_YAML, [
        "seed=7", "data.sources=[/tmp/a, /tmp/b]", "model.text_tfidf.max_features=null",
        "model.text_tfidf.sublinear_tf=false", "data.split_fractions=[0.6, 0.2, 0.2]", "mlflow.run_name=a=b",
    ])
    assert cfg.seed == 7
    assert cfg.data.sources == ["/tmp/a", "/tmp/b"]
    assert cfg.model.text_tfidf.max_features is None
    assert cfg.model.text_tfidf.sublinear_tf is False
    assert cfg.data.split_fractions == (0.6, 0.2, 0.2)
    assert cfg.mlflow.run_name == "a=b"  # only the first '=' separates key and value


def test_set_creates_missing_sections(tmp_path):
    cfg = load_config(write(tmp_path, "seed: 1\n"), ["mlflow.alias=champion", "data.split_seed=4"])
    assert cfg.mlflow.alias == "champion" and cfg.mlflow.experiment == "imr-outcome"
    assert cfg.data.split_seed == 4


def test_set_a_whole_section_as_a_yaml_mapping():
    cfg = load_config(BASELINE_YAML, ["model.treatment_tfidf={analyzer: char_wb, ngram_range: [3, 5], min_df: 1}"])
    assert cfg.model.treatment_tfidf is not None
    assert cfg.model.treatment_tfidf.analyzer == "char_wb"
    assert cfg.model.treatment_tfidf.ngram_range == (3, 5)


def test_set_inside_a_section_that_is_null_in_the_file():
    """configs/baseline.yaml ships `treatment_tfidf: null` with a comment suggesting how to turn
    it on; setting one key of it must start from an empty section."""
    cfg = load_config(BASELINE_YAML, ["model.treatment_tfidf.analyzer=char_wb", "model.treatment_tfidf.min_df=1"])
    assert cfg.model.treatment_tfidf is not None
    assert cfg.model.treatment_tfidf.analyzer == "char_wb"
    assert cfg.model.treatment_tfidf.min_df == 1


def test_later_set_wins(tmp_path):
    cfg = load_config(BASELINE_YAML, ["model.classifier.C=0.5", "model.classifier.C=2"])
    assert cfg.model.classifier.C == 2.0


def test_set_unknown_or_mistyped_key_is_named(tmp_path):
    msg = config_error(BASELINE_YAML, ["data.seed=1"])
    assert "baseline.yaml" in msg and "data.seed" in msg
    msg = config_error(BASELINE_YAML, ["data.split_seed=abc"])
    assert "data.split_seed" in msg


@pytest.mark.parametrize("assignment", ["model.classifier.C", "=0.5", "", "seed"])
def test_bad_set_syntax(assignment):
    with pytest.raises(ConfigError) as info:
        apply_override({}, assignment)
    assert "key=value" in str(info.value)
    assert repr(assignment) in str(info.value)


def test_set_through_a_scalar_is_refused():
    raw = {"seed": 0}
    with pytest.raises(ConfigError) as info:
        apply_override(raw, "seed.x=1")
    assert "'seed' is not a section" in str(info.value)


def test_imr_train_with_a_bad_config_exits_2_naming_file_and_key(tmp_path, capsys):
    path = write(tmp_path, "seeds: 1\n", "bad_run.yaml")
    assert main(["train", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert "bad_run.yaml" in err and "seeds" in err
    assert main(["train", "--config", str(BASELINE_YAML), "--set", "model.classifier.C"]) == 2
    assert "key=value" in capsys.readouterr().err
