import pytest

from strainer.config import ConfigError, validate_config
from strainer.plan import FitSpec, all_fits, table_fits


def test_demo_config_is_valid(demo_config):
    validate_config(demo_config)


@pytest.mark.parametrize(
    ("change", "key"),
    [
        (lambda c: c["fitting"].update(steps=-1), "fitting.steps"),
        (lambda c: c["fitting"].update(stepz=10), "fitting"),
        (lambda c: c["pretraining"].update(lr=0), "pretraining.lr"),
        (lambda c: c.update(device="tpu"), "device"),
        (lambda c: c["domains"]["photo_crops"].update(channels="cmyk"), "domains.photo_crops.channels"),
        (lambda c: c["tables"]["table1"].update(methods=["siren", "nerf"]), "tables.table1.methods.1"),
        (lambda c: c["tables"]["table3"].update(trained_on=["celeba"]), "tables.table3.trained_on"),
        (lambda c: c["model"].update(shared_layers=6), "model.shared_layers"),
        (lambda c: c["domains"]["lfw_faces"].update(n_train=3), "domains.lfw_faces.n_train"),
        (lambda c: c["domains"].update({"none": c["domains"]["lfw_faces"]}), "domains"),
    ],
)
def test_invalid_value_names_key(demo_config, change, key):
    change(demo_config)
    with pytest.raises(ConfigError) as raised:
        validate_config(demo_config)
    assert f"'{key}'" in str(raised.value)


def test_missing_section_is_reported(demo_config):
    del demo_config["fitting"]
    with pytest.raises(ConfigError, match="'fitting' is a required property"):
        validate_config(demo_config)


def test_gray_method_only_on_single_channel_domains(demo_config):
    fits = table_fits(demo_config, "table2")
    gray = [fit for fit in fits if fit.method == "strainer_10_gray"]
    assert {fit.tested_on for fit in gray} == {"texture_crops", "lfw_faces"}
    assert all(fit.channels == "gray" for fit in gray)
    demo_config["tables"]["table2"]["tested_on"] = ["photo_crops"]
    assert not [fit for fit in table_fits(demo_config, "table2") if fit.method == "strainer_10_gray"]


def test_table3_fits_gray_domains_as_rgb(demo_config):
    fits = table_fits(demo_config, "table3")
    assert FitSpec("siren", "none", "lfw_faces", "rgb") in fits
    assert FitSpec("strainer_10", "photo_crops", "lfw_faces", "rgb") in fits
    assert all(fit.channels == "rgb" for fit in fits)


def test_fits_shared_between_tables_run_once(demo_config):
    fits = all_fits(demo_config)
    assert len(fits) == len(set(fits))
    assert FitSpec("siren", "none", "photo_crops", "rgb") in table_fits(demo_config, "table1")
    assert FitSpec("siren", "none", "photo_crops", "rgb") in table_fits(demo_config, "table3")
