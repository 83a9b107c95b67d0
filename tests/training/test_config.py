"""Strict YAML training configs: unknown or mistyped keys fail naming the file and the key,
`--set` overrides, and the shipped configs load."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from conftest import new_store_uri

from training.config import PROJECT_ROOT, ConfigError, TrainConfig, resolved_yaml
from training.config_loading import apply_override, default_config, load_config, validate_config
from training.families.baseline import BaselineModelConfig
from training.imr import main

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
    assert load_config(write(tmp_path, "")) == default_config()
    assert load_config(write(tmp_path, "# only a comment\n", "c.yaml")) == default_config()


def test_full_baseline_section(tmp_path):
    cfg = load_config(
        write(
            tmp_path,
            """
model:
  family: baseline
  text_tfidf: {analyzer: char_wb, ngram_range: [3, 5], min_df: 1, max_features: null, sublinear_tf: false}
  treatment_tfidf: {analyzer: word}
  metadata_columns: true
  classifier: {C: 0.25, class_weight: null, max_iter: 50}
""",
        )
    )
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
    assert cfg.model.family == path.stem  # each shipped config trains the family it is named after
    # round trip: the resolved YAML logged with each run loads back to the same config
    assert validate_config(yaml.safe_load(resolved_yaml(cfg))) == cfg


def test_shipped_baseline_yaml_equals_the_defaults():
    cfg = load_config(BASELINE_YAML)
    assert cfg == default_config()
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


def test_unknown_model_family_is_rejected_naming_the_known_ones(tmp_path):
    msg = config_error(write(tmp_path, "model:\n  family: random_forest\n", "f.yaml"))
    assert "f.yaml: model.family:" in msg and "random_forest" in msg
    assert "baseline" in msg and "transformer" in msg
    msg = config_error(write(tmp_path, "model:\n  family: [baseline]\n", "l.yaml"))
    assert "l.yaml: model.family:" in msg


def test_a_model_section_that_is_not_a_mapping_is_named(tmp_path):
    msg = config_error(write(tmp_path, "model: 5\n", "m.yaml"))
    assert "m.yaml: model:" in msg and "mapping" in msg


def test_model_section_without_family_is_the_default_family(tmp_path):
    cfg = load_config(write(tmp_path, "model:\n  classifier: {C: 0.5}\n", "nofamily.yaml"))
    assert cfg.model.family == "baseline" and cfg.model.classifier.C == 0.5
    assert load_config(write(tmp_path, "model: null\n", "null.yaml")) == default_config()


def test_each_family_is_loaded_with_the_config_class_its_registry_entry_names():
    from training.families.registry import FAMILIES

    for name, family in FAMILIES.items():
        cfg = validate_config({"model": {"family": name}})
        assert type(cfg.model) is family.config and cfg.model.family == name
        assert validate_config(yaml.safe_load(resolved_yaml(cfg))) == cfg


def test_a_new_family_is_its_config_class_plus_one_registry_entry(tmp_path, monkeypatch):
    """Registering a family is all config loading needs: no union or tag list to extend."""
    from typing import Literal

    from training.config import ModelConfig
    from training.families.registry import FAMILIES, Family

    class ForestConfig(ModelConfig):
        family: Literal["forest"] = "forest"
        trees: int = 100

    monkeypatch.setitem(
        FAMILIES, "forest", Family("forest", ForestConfig, fit=None, key_params={}, describe=str, card_section=str)
    )
    cfg = load_config(write(tmp_path, "model:\n  family: forest\n  trees: 7\n"), ["seed=3"])
    assert isinstance(cfg.model, ForestConfig) and cfg.model.trees == 7 and cfg.seed == 3
    msg = config_error(write(tmp_path, "model:\n  family: forest\n  tres: 7\n", "typo.yaml"))
    assert "typo.yaml: model.tres:" in msg


def test_with_model_swaps_the_family_and_keeps_the_rest():
    from training.config import with_model
    from training.families.transformer import TransformerModelConfig

    cfg = validate_config({"seed": 4, "model": {"family": "transformer", "epochs": 1}, "evaluation": {"folds": 3}})
    swapped = with_model(cfg, BaselineModelConfig())
    assert isinstance(swapped.model, BaselineModelConfig) and isinstance(cfg.model, TransformerModelConfig)
    assert swapped.seed == 4 and swapped.evaluation == cfg.evaluation
    assert validate_config(yaml.safe_load(resolved_yaml(swapped))) == swapped


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


@pytest.mark.parametrize(
    "text, expect",
    [
        ("seed: [1\n", "not valid YAML"),
        ("- a\n- b\n", "top level must be a mapping"),
        ("just a string\n", "top level must be a mapping"),
    ],
)
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
    assert cfg.model_copy(update={"model": default_config().model}) == default_config()


def test_set_values_are_yaml_scalars_and_lists(tmp_path):
    cfg = load_config(
        BASELINE_YAML,
        [
            "seed=7",
            "data.sources=[/tmp/a, /tmp/b]",
            "model.text_tfidf.max_features=null",
            "model.text_tfidf.sublinear_tf=false",
            "data.split_fractions=[0.6, 0.2, 0.2]",
            "mlflow.run_name=a=b",
        ],
    )
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


# --- guards: non-finite numbers, n-gram ranges, unparsable --set values ---------------------


@pytest.mark.parametrize(
    "text, key",
    [
        ("model:\n  family: baseline\n  classifier: {C: .inf}\n", "model.classifier.C"),
        ("model:\n  family: baseline\n  classifier: {C: .nan}\n", "model.classifier.C"),
        ("model:\n  family: transformer\n  learning_rate: .nan\n", "model.learning_rate"),
        ("model:\n  family: transformer\n  head_fraction: .inf\n", "model.head_fraction"),
        ("data:\n  split_fractions: [.nan, 0.5, 0.5]\n", "data.split_fractions"),
    ],
    ids=["C-inf", "C-nan", "lr-nan", "head-inf", "fraction-nan"],
)
def test_non_finite_numbers_are_refused_naming_the_key(tmp_path, text, key):
    msg = config_error(write(tmp_path, text, "nonfinite.yaml"))
    assert "nonfinite.yaml" in msg and key in msg


@pytest.mark.parametrize("value", [".inf", "-.inf", ".nan", ".NaN"])
def test_non_finite_set_value_is_refused_naming_the_key(value):
    msg = config_error(BASELINE_YAML, [f"model.classifier.C={value}"])
    assert "baseline.yaml" in msg and "model.classifier.C" in msg


@pytest.mark.parametrize("ngrams", ["[2, 1]", "[0, 1]", "[0, 0]", "[-1, 2]"])
def test_reversed_or_zero_ngram_range_is_refused_naming_the_key(tmp_path, ngrams):
    msg = config_error(
        write(tmp_path, f"model:\n  family: baseline\n  text_tfidf: {{ngram_range: {ngrams}}}\n", "ngrams.yaml")
    )
    assert "ngrams.yaml" in msg and "model.text_tfidf.ngram_range" in msg
    msg = config_error(BASELINE_YAML, [f"model.treatment_tfidf.ngram_range={ngrams}"])
    assert "model.treatment_tfidf.ngram_range" in msg


@pytest.mark.parametrize("ngrams", [(1, 1), (1, 3), (3, 5)])
def test_ordered_ngram_ranges_load(ngrams):
    cfg = load_config(BASELINE_YAML, [f"model.text_tfidf.ngram_range=[{ngrams[0]}, {ngrams[1]}]"])
    assert cfg.model.text_tfidf.ngram_range == ngrams


@pytest.mark.parametrize(
    "assignment, key",
    [
        ("seed=[1", "seed"),
        ("model.classifier.C={a: ", "model.classifier.C"),
        ("data.sources=[a, b", "data.sources"),
        ('mlflow.alias="unterminated', "mlflow.alias"),
    ],
)
def test_set_value_that_is_not_yaml_names_the_key(assignment, key):
    with pytest.raises(ConfigError) as info:
        load_config(BASELINE_YAML, [assignment])
    msg = str(info.value)
    assert f"--set {key}:" in msg and "not valid YAML" in msg
    assert "\n" not in msg.strip()


# --- evaluation defaults and ranges --------------------------------------------------------


def test_evaluation_defaults_to_repeated_cv():
    ev = default_config().evaluation
    assert (ev.mode, ev.folds, ev.repeats, ev.calibration) == ("cv", 5, 3, "sigmoid")
    assert ev.leakage_audit is False and ev.bootstrap_samples >= 100
    shipped = load_config(BASELINE_YAML).evaluation
    assert (shipped.mode, shipped.folds, shipped.repeats, shipped.calibration) == ("cv", 5, 3, "sigmoid")


@pytest.mark.parametrize(
    "assignment, key",
    [
        ("evaluation.folds=1", "evaluation.folds"),
        ("evaluation.repeats=0", "evaluation.repeats"),
        ("evaluation.bootstrap_samples=5", "evaluation.bootstrap_samples"),
        ("evaluation.mode=kfold", "evaluation.mode"),
        ("evaluation.calibration=platt", "evaluation.calibration"),
        ("evaluation.folds=.inf", "evaluation.folds"),
    ],
)
def test_evaluation_out_of_range_names_the_key(assignment, key):
    msg = config_error(BASELINE_YAML, [assignment])
    assert key in msg


def test_split_mode_still_loads():
    cfg = load_config(BASELINE_YAML, ["evaluation.mode=split", "evaluation.calibration=isotonic"])
    assert cfg.evaluation.mode == "split" and cfg.evaluation.calibration == "isotonic"


# --- min_df against the size of the smallest training set -----------------------------------


def baseline_cfg(**tfidf) -> TrainConfig:
    return validate_config({"model": {"family": "baseline", **tfidf}})


def test_check_data_refuses_a_min_df_larger_than_the_training_set():
    from training.families.baseline import check_data

    check_data(baseline_cfg(text_tfidf={"min_df": 26}), 26)  # equal is possible (a term in every item)
    with pytest.raises(ConfigError) as info:
        check_data(baseline_cfg(text_tfidf={"min_df": 27}), 26)
    msg = str(info.value)
    assert msg.startswith("model.text_tfidf.min_df") and "27" in msg and "26" in msg
    with pytest.raises(ConfigError, match=r"model\.treatment_tfidf\.min_df"):
        check_data(baseline_cfg(treatment_tfidf={"min_df": 30}), 26)


def test_every_family_has_a_data_check_that_accepts_the_defaults():
    from training.families.registry import FAMILIES

    assert set(FAMILIES) == {"baseline", "transformer", "ensemble", "criteria"}
    FAMILIES["baseline"].check_data(default_config(), 1000)
    FAMILIES["criteria"].check_data(validate_config({"model": {"family": "criteria"}}), 1000)
    FAMILIES["transformer"].check_data(validate_config({"model": {"family": "transformer"}}), 2)
    FAMILIES["ensemble"].check_data(validate_config({"model": {"family": "ensemble"}}), 1000)


def test_the_ensemble_checks_its_members_on_an_inner_fold():
    """min_df 2 fits 3 training items, but not the 2 of an inner fold of them (3 inner folds)."""
    from training.families.registry import FAMILIES

    cfg = validate_config(
        {"model": {"family": "ensemble", "members": [{"family": "baseline"}, {"family": "transformer"}]}}
    )
    FAMILIES["ensemble"].check_data(cfg, 3)
    with pytest.raises(ConfigError, match="min_df: 2 is larger than the 1 items"):
        FAMILIES["ensemble"].check_data(cfg, 2)


@pytest.fixture
def tracking_store(tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", new_store_uri(tmp_path))
    return tmp_path


def experiment_runs(name: str) -> list:
    from mlflow import MlflowClient

    client = MlflowClient()
    exp = client.get_experiment_by_name(name)
    return [] if exp is None else client.search_runs([exp.experiment_id])


def small_corpus_config(tmp_path: Path, letters: Path, experiment: str) -> Path:
    return write(
        tmp_path,
        f"""
data: {{sources: [{letters}]}}
model: {{family: baseline, text_tfidf: {{min_df: 1, max_features: 500}}}}
evaluation: {{folds: 3, repeats: 1, bootstrap_samples: 100}}
mlflow: {{experiment: {experiment}, registered_model_name: imr-test-config, alias: testing}}
""",
        "small.yaml",
    )


@pytest.mark.parametrize("mode", ["cv", "split"])
def test_min_df_too_large_is_refused_at_train_time_before_any_run(small_corpus, tracking_store, mode):
    from training.run.train import train

    experiment = f"imr-tests-config-min-df-{mode}"
    cfg = load_config(
        small_corpus_config(tracking_store, small_corpus, experiment),
        ["model.text_tfidf.min_df=1000", f"evaluation.mode={mode}"],
    )
    with pytest.raises(ConfigError) as info:
        train(cfg)
    assert str(info.value).startswith("model.text_tfidf.min_df: 1000")
    assert experiment_runs(experiment) == []


def assert_one_line_error(err: str, *expected: str) -> str:
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("imr train:")]
    assert len(lines) == 1, err
    for text in expected:
        assert text in lines[0], (text, lines[0])
    return lines[0]


def test_imr_train_refuses_min_df_with_exit_2_and_one_line(small_corpus, tracking_store, capsys):
    experiment = "imr-tests-config-cli-min-df"
    path = small_corpus_config(tracking_store, small_corpus, experiment)
    summary = tracking_store / "summary.json"
    assert (
        main(["train", "--config", str(path), "--set", "model.text_tfidf.min_df=1000", "--summary", str(summary)]) == 2
    )
    captured = capsys.readouterr()
    assert_one_line_error(captured.err, "model.text_tfidf.min_df")
    assert captured.out == "" and not summary.exists()
    assert experiment_runs(experiment) == []


@pytest.mark.parametrize(
    "assignment, key",
    [
        ("model.classifier.C=.inf", "model.classifier.C"),
        ("model.text_tfidf.ngram_range=[3, 1]", "model.text_tfidf.ngram_range"),
        ("seed=[1", "seed"),
    ],
)
def test_imr_train_config_guards_exit_2_with_one_line(tmp_path, capsys, assignment, key):
    assert main(["train", "--config", str(BASELINE_YAML), "--set", assignment]) == 2
    captured = capsys.readouterr()
    assert_one_line_error(captured.err, key)
    assert captured.out == ""


TRANSFORMER_YAML = PROJECT_ROOT / "configs" / "transformer.yaml"


def test_trainer_section_passes_through_to_training_arguments(tmp_path):
    from transformers import TrainingArguments

    from training.families.transformer.fine_tune import training_arguments

    cfg = load_config(TRANSFORMER_YAML, ["model.trainer={lr_scheduler_type: cosine, gradient_accumulation_steps: 2}"])
    kwargs = training_arguments(cfg, tmp_path / "ckpt", select=False, cuda=False)
    assert kwargs["lr_scheduler_type"] == "cosine" and kwargs["gradient_accumulation_steps"] == 2
    assert kwargs["learning_rate"] == cfg.model.learning_rate  # the typed keys still set their fields
    args = TrainingArguments(**kwargs)
    assert args.gradient_accumulation_steps == 2 and args.lr_scheduler_type.value == "cosine"


@pytest.mark.parametrize(
    "trainer, named",
    [
        (
            "{gradient_acumulation_steps: 2}",
            "trainer.gradient_acumulation_steps is not a transformers.TrainingArguments",
        ),
        ("{learning_rate: 0.1}", "trainer.learning_rate: set model.learning_rate instead"),
        ("{per_device_eval_batch_size: 4}", "set model.batch_size instead"),
        ("{output_dir: /tmp/x}", "trainer.output_dir is set by the run itself"),
        ("{optim: sgd}", "trainer.optim has no effect with model.head_learning_rate set"),
    ],
)
def test_trainer_section_refuses_what_it_cannot_set(trainer, named):
    with pytest.raises(ConfigError) as exc:
        load_config(TRANSFORMER_YAML, [f"model.trainer={trainer}"])
    assert "transformer.yaml" in str(exc.value) and named in str(exc.value)
    assert "Value error" not in str(exc.value)  # pydantic's wording, not the user's problem


def test_optimizer_settings_pass_without_a_head_learning_rate():
    cfg = load_config(
        TRANSFORMER_YAML, ["model.head_learning_rate=null", "model.trainer={optim: adamw_torch, adam_beta2: 0.99}"]
    )
    assert cfg.model.trainer == {"optim": "adamw_torch", "adam_beta2": 0.99}
