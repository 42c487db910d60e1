"""Workflow configuration: validation with a clear message, and typed settings from it."""

from pathlib import Path

import jsonschema
import yaml

from strainer.fitting import FitSettings
from strainer.methods import get_method
from strainer.models import SirenConfig
from strainer.plan import TABLES, all_fits, pretrain_for

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "config" / "schema.yaml"


class ConfigError(ValueError):
    """Raised for a config value that the workflow cannot run with."""


def validate_config(config: dict, schema_path: str | Path = SCHEMA_PATH) -> None:
    """Check `config` against the JSON schema and the rules the schema cannot express.

    Raises ConfigError naming every invalid key, for example
    "config key 'fitting.steps': -1 is less than the minimum of 1".
    """
    schema = yaml.safe_load(Path(schema_path).read_text())
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda error: list(error.absolute_path))
    if errors:
        lines = [f"config key '{_key(error.absolute_path)}': {error.message}" for error in errors]
        raise ConfigError("invalid config:\n  " + "\n  ".join(lines))
    _check_cross_references(config)


def _key(path) -> str:
    return ".".join(str(part) for part in path) or "<top level>"


def _check_cross_references(config: dict) -> None:
    problems = []
    model = config["model"]
    if model["shared_layers"] >= model["n_layers"]:
        problems.append(
            f"config key 'model.shared_layers': {model['shared_layers']} must be less than "
            f"model.n_layers ({model['n_layers']}) so that every decoder keeps a layer"
        )

    domains = config["domains"]
    for table in TABLES:
        for role in ("trained_on", "tested_on"):
            for domain in config["tables"][table].get(role, []):
                if domain not in domains:
                    problems.append(
                        f"config key 'tables.{table}.{role}': domain {domain!r} is not defined "
                        f"under domains (defined: {', '.join(domains)})"
                    )
                elif role == "tested_on" and domains[domain]["n_test"] < 1:
                    problems.append(
                        f"config key 'domains.{domain}.n_test': table {table} tests on {domain!r} "
                        "but n_test is 0; set n_test to 1 or more"
                    )
    if problems:
        raise ConfigError("invalid config:\n  " + "\n  ".join(problems))

    for fit in all_fits(config):
        pretrain = pretrain_for(fit)
        if pretrain and domains[pretrain.domain]["n_train"] < pretrain.n_decoders:
            problems.append(
                f"config key 'domains.{pretrain.domain}.n_train': {get_method(fit.method).name} "
                f"needs {pretrain.n_decoders} training images but n_train is "
                f"{domains[pretrain.domain]['n_train']}"
            )
    if problems:
        raise ConfigError("invalid config:\n  " + "\n  ".join(sorted(set(problems))))


def model_config(config: dict) -> SirenConfig:
    """Return the SIREN shape of the config; out_features is set per fit from its channels."""
    model = config["model"]
    return SirenConfig(
        hidden_features=model["hidden_features"],
        n_layers=model["n_layers"],
        shared_layers=model["shared_layers"],
        omega_0_first=float(model["omega_0_first"]),
        omega_0_hidden=float(model["omega_0_hidden"]),
    )


def fit_settings(section: dict) -> FitSettings:
    return FitSettings(
        steps=section["steps"],
        lr=float(section["lr"]),
        log_every=section["log_every"],
        checkpoint_every=section.get("checkpoint_every", 0),
    )


def load_paper_results(path: str | Path | None) -> dict:
    if not path:
        return {}
    return yaml.safe_load(Path(path).read_text()) or {}
