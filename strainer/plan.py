"""The experiment plan: which encoders to pretrain and which fits each table needs.

Pure functions of the config, so that the Snakefile, the aggregation step and the
tests agree on one list of jobs.
"""

import math
from dataclasses import dataclass

from strainer.methods import get_method

NO_TRAINING = "none"  # trained_on value of methods that start from a random init
TABLES = ("table1", "table2", "table3")


@dataclass(frozen=True, order=True)
class FitSpec:
    """One set of test-time fits: a method, its training domain and a test domain."""

    method: str
    trained_on: str  # a domain, or NO_TRAINING
    tested_on: str
    channels: str  # "rgb" or "gray": channel layout of the fitted networks

    @property
    def path(self) -> str:
        return f"{self.method}/{self.trained_on}/{self.tested_on}/{self.channels}"


@dataclass(frozen=True, order=True)
class PretrainSpec:
    """One pretraining run: a STRAINER model with n_decoders on a domain's train split."""

    domain: str
    channels: str
    n_decoders: int

    @property
    def path(self) -> str:
        return f"{self.domain}/{self.channels}/decoders-{self.n_decoders}"


def domain_channels(config: dict, domain: str) -> str:
    try:
        return config["domains"][domain]["channels"]
    except KeyError:
        raise ValueError(f"domain {domain!r} is used by a table but not defined under domains") from None


def fit_channels(config: dict, table: dict, method_name: str, trained_on: str, tested_on: str) -> str | None:
    """Return the channel layout of a fit, or None when the method cannot fit that domain.

    A method with a forced layout (the gray variant) fits single-channel test domains
    only. Otherwise a table with channels "rgb" fits everything as RGB, and "native"
    fits RGB whenever the test domain or the training domain is RGB (a single-channel
    image is repeated into three channels), and one channel otherwise.
    """
    method = get_method(method_name)
    tested = domain_channels(config, tested_on)
    if method.channels is not None:
        return method.channels if tested == method.channels else None
    if table.get("channels", "native") == "rgb":
        return "rgb"
    involved = {tested}
    if method.needs_training:
        involved.add(domain_channels(config, trained_on))
    return "rgb" if "rgb" in involved else "gray"


def table_fits(config: dict, table_name: str) -> list[FitSpec]:
    """Return the fits of one table, in row order."""
    table = config["tables"][table_name]
    if table["pairs"] == "in_domain":
        pairs = [(domain, domain) for domain in table["tested_on"]]
    else:
        pairs = [(trained, tested) for trained in table["trained_on"] for tested in table["tested_on"]]

    specs = []
    for method_name in table["methods"]:
        method = get_method(method_name)
        for trained_on, tested_on in pairs:
            trained = trained_on if method.needs_training else NO_TRAINING
            channels = fit_channels(config, table, method_name, trained, tested_on)
            if channels is None:
                continue
            spec = FitSpec(method_name, trained, tested_on, channels)
            if spec not in specs:
                specs.append(spec)
    return specs


def all_fits(config: dict) -> list[FitSpec]:
    return sorted({spec for table in TABLES for spec in table_fits(config, table)})


def pretrain_for(fit: FitSpec) -> PretrainSpec | None:
    method = get_method(fit.method)
    if not method.needs_training:
        return None
    return PretrainSpec(fit.trained_on, fit.channels, method.n_decoders)


def n_shards(config: dict, domain: str) -> int:
    n_test = config["domains"][domain]["n_test"]
    return math.ceil(n_test / config["fitting"]["shard_size"])
