"""The initialisation methods compared in the tables.

Display names follow the STRAINER paper (Vyas et al., NeurIPS 2024), Tables 1-3.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Method:
    name: str  # identifier used in config keys, paths and CSV rows
    display_name: str  # name used in the paper's tables and plots
    init: str  # "random", "finetuned" (a full SIREN fitted to one training image) or "strainer"
    n_decoders: int = 0  # training images behind the initialisation; 0 for random
    channels: str | None = None  # forced channel layout of the network, if any

    @property
    def needs_training(self) -> bool:
        return self.init != "random"


METHODS = {
    method.name: method
    for method in (
        Method("siren", "SIREN", init="random"),
        # The fine-tuned SIREN starts from the 1-decoder STRAINER network with its
        # decoder kept: that network is exactly a SIREN fitted to one training image.
        Method("siren_finetuned", "SIREN fine-tuned", init="finetuned", n_decoders=1),
        Method("strainer_1", "STRAINER (1 decoder)", init="strainer", n_decoders=1),
        Method("strainer_10", "STRAINER-10", init="strainer", n_decoders=10),
        Method("strainer_10_gray", "STRAINER-10 (Gray)", init="strainer", n_decoders=10, channels="gray"),
    )
}


def get_method(name: str) -> Method:
    try:
        return METHODS[name]
    except KeyError:
        raise ValueError(f"unknown method {name!r}; known methods: {', '.join(METHODS)}") from None
