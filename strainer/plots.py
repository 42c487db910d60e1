"""Figures drawn with seaborn from the long-form curve CSVs."""

import matplotlib

matplotlib.use("Agg")  # jobs run without a display

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from strainer.methods import get_method  # noqa: E402
from strainer.runtime import atomic_path  # noqa: E402


def plot_psnr_curves(curves: pd.DataFrame, output_png: str, output_pdf: str, title: str) -> None:
    """Draw PSNR against test-time step per method: the mean, with a band of one std.

    One panel per test domain, in the order the domains first appear in `curves`, which
    has columns method, tested_on, image_id, step and psnr_db.
    """
    data = curves.copy()
    data["method"] = data["method"].map(lambda name: get_method(name).display_name)
    grid = sns.relplot(
        data=data, x="step", y="psnr_db", hue="method", col="tested_on", kind="line",
        errorbar="sd", col_order=list(dict.fromkeys(data["tested_on"])),
        hue_order=list(dict.fromkeys(data["method"])),
        facet_kws={"sharey": False}, height=3.2, aspect=1.2,
    )
    grid.set_axis_labels("test-time step", "PSNR (dB)")
    grid.set_titles("tested on {col_name}")
    grid.figure.suptitle(f"{title}: PSNR during test-time fitting (mean ± 1 std over test images)", y=1.03)

    for path, file_format in ((output_png, "png"), (output_pdf, "pdf")):
        with atomic_path(path) as temporary:
            grid.figure.savefig(temporary, format=file_format, dpi=150, bbox_inches="tight")
    plt.close(grid.figure)
