"""Per-image metrics to the tables of the STRAINER paper (Vyas et al., NeurIPS 2024).

Writes tidy CSVs, Markdown layouts like the paper's tables, and comparisons with the
numbers it reports.
"""

import logging

import numpy as np
import pandas as pd

from strainer.methods import get_method
from strainer.plan import NO_TRAINING, TABLES, FitSpec, table_fits
from strainer.plots import plot_psnr_curves
from strainer.runtime import atomic_path

log = logging.getLogger(__name__)

KEY_COLUMNS = ["method", "trained_on", "tested_on", "channels"]
TABLE_COLUMNS = [
    "method", "display_name", "trained_on", "tested_on", "channels", "n_images", "steps",
    "psnr_db_mean", "psnr_db_std", "ssim_mean", "ssim_std", "data_range",
    "paper_trained_on", "paper_tested_on", "paper_psnr_db", "paper_ssim", "delta_psnr_db",
]
PAPER_GAP_DB = 1.0  # a row this far below the paper's PSNR is listed as a disagreement


def read_metrics(paths: list[str]) -> pd.DataFrame:
    frames = [pd.read_csv(path, dtype={"image_id": str}) for path in paths]
    return pd.concat(frames, ignore_index=True)


def paper_dataset(config: dict, domain: str) -> str | None:
    if domain == NO_TRAINING:
        return None
    return config["domains"][domain].get("paper_dataset")


def paper_value(paper_results: dict, table_name: str, spec: FitSpec, config: dict) -> dict:
    """Return the paper's psnr_db and ssim for a row, or an empty dict.

    Rows match on the method and on the paper datasets that the config maps the
    training and test domains to. A row whose test domain maps to no paper dataset has
    no paper value.
    """
    trained = paper_dataset(config, spec.trained_on)
    tested = paper_dataset(config, spec.tested_on)
    if tested is None or (spec.trained_on != NO_TRAINING and trained is None):
        return {}
    for entry in paper_results.get(table_name, []):
        if entry["method"] == spec.method and entry["tested_on"] == tested and entry.get("trained_on") == trained:
            return {"paper_trained_on": trained, "paper_tested_on": tested,
                    "paper_psnr_db": entry.get("psnr_db"), "paper_ssim": entry.get("ssim")}
    return {}


def summarise_table(per_image: pd.DataFrame, config: dict, paper_results: dict, table_name: str) -> pd.DataFrame:
    """Return one row per (method, trained_on, tested_on) of a table, in config order."""
    rows = []
    for spec in table_fits(config, table_name):
        selected = per_image
        for column in KEY_COLUMNS:
            selected = selected[selected[column] == getattr(spec, column)]
        if selected.empty:
            raise ValueError(f"no per-image metrics for {spec.path}; its fit jobs did not run")

        row = {
            "method": spec.method,
            "display_name": get_method(spec.method).display_name,
            "trained_on": spec.trained_on,
            "tested_on": spec.tested_on,
            "channels": spec.channels,
            "n_images": len(selected),
            "steps": int(selected["steps"].iloc[0]),
            "psnr_db_mean": selected["psnr_db"].mean(),
            "psnr_db_std": selected["psnr_db"].std(ddof=0),
            "ssim_mean": selected["ssim"].mean(),
            "ssim_std": selected["ssim"].std(ddof=0),
            "data_range": selected["data_range"].iloc[0],
            **paper_value(paper_results, table_name, spec, config),
        }
        rows.append(row)

    table = pd.DataFrame(rows).reindex(columns=TABLE_COLUMNS)
    table["delta_psnr_db"] = table["psnr_db_mean"] - table["paper_psnr_db"]
    return table


def strainer_vs_siren(table1: pd.DataFrame) -> list[str]:
    """Compare STRAINER-10 with SIREN on every in-domain test domain of table 1."""
    lines = []
    for tested_on, rows in table1.groupby("tested_on", sort=False):
        by_method = rows.set_index("method")["psnr_db_mean"]
        if "strainer_10" not in by_method or "siren" not in by_method:
            continue
        strainer, siren = by_method["strainer_10"], by_method["siren"]
        verdict = "beats" if strainer > siren else "does NOT beat"
        lines.append(
            f"{tested_on}: STRAINER-10 {verdict} SIREN at the same steps "
            f"({strainer:.2f} dB vs {siren:.2f} dB, difference {strainer - siren:+.2f} dB)"
        )
    return lines


def paper_disagreements(table: pd.DataFrame) -> list[str]:
    """List the rows whose mean PSNR is more than PAPER_GAP_DB below the paper's."""
    lines = []
    for _, row in table.dropna(subset=["delta_psnr_db"]).iterrows():
        if row["delta_psnr_db"] < -PAPER_GAP_DB:
            lines.append(
                f"{row['display_name']} trained on {row['trained_on']}, tested on {row['tested_on']}: "
                f"{row['psnr_db_mean']:.2f} dB measured vs {row['paper_psnr_db']:.2f} dB in the paper "
                f"({row['delta_psnr_db']:+.2f} dB)"
            )
    return lines


def render_markdown(table: pd.DataFrame, title: str, notes: list[str]) -> str:
    """Lay a tidy table out as the paper does: methods as rows, test domains as columns."""
    cells = table.copy()
    cells["row"] = cells["display_name"]
    several_trained = cells.loc[cells["trained_on"] != NO_TRAINING, "trained_on"].nunique() > 1
    if several_trained:
        trained = cells["trained_on"].where(cells["trained_on"] != NO_TRAINING, "")
        cells["row"] = cells["row"] + np.where(trained != "", " (trained on " + trained + ")", "")
    cells["cell"] = cells.apply(_format_cell, axis=1)
    layout = cells.pivot_table(index="row", columns="tested_on", values="cell", aggfunc="first", sort=False)
    layout = layout.reindex(columns=list(dict.fromkeys(cells["tested_on"]))).fillna("-")
    layout.index.name = "method"

    steps = ", ".join(str(value) for value in sorted(table["steps"].unique()))
    lines = [f"# {title}", "",
             f"PSNR (dB) / SSIM, mean ± population std (ddof=0) over test images, after {steps} test-time steps.",
             "Paper values in brackets where the config maps a domain to a paper dataset.", "",
             layout.to_markdown(), ""]
    if notes:
        lines += ["## Checks", ""] + [f"- {note}" for note in notes] + [""]
    return "\n".join(lines)


def _format_cell(row: pd.Series) -> str:
    text = f"{row['psnr_db_mean']:.2f} ± {row['psnr_db_std']:.2f} / {row['ssim_mean']:.4f} ± {row['ssim_std']:.4f}"
    if pd.notna(row.get("paper_psnr_db")):
        paper_ssim = "" if pd.isna(row.get("paper_ssim")) else f" / {row['paper_ssim']:.3f}"
        text += f" [paper {row['paper_psnr_db']:.2f}{paper_ssim}]"
    return text


TABLE_TITLES = {
    "table1": "Table 1: in-domain image fitting",
    "table2": "Table 2: out-of-domain image fitting",
    "table3": "Table 3: STRAINER-10 trained on each domain and tested on every domain",
}


def write_tables(config: dict, paper_results: dict, metrics_csvs: list[str], curve_csvs: list[str],
                 outputs: dict[str, str]) -> None:
    """Write the per-image metrics, the curves, tables 1-3 (CSV and Markdown) and figure 2."""
    per_image = read_metrics(metrics_csvs)
    curves = read_metrics(curve_csvs)
    with atomic_path(outputs["per_image_metrics"]) as temporary:
        per_image.to_csv(temporary, index=False)
    with atomic_path(outputs["curves"]) as temporary:
        curves.to_csv(temporary, index=False)
    log.info("collected %d per-image rows and %d curve points", len(per_image), len(curves))

    for table_name in TABLES:
        table = summarise_table(per_image, config, paper_results, table_name)
        notes = paper_disagreements(table)
        if table_name == "table1":
            notes = strainer_vs_siren(table) + notes
        for note in notes:
            log.info("%s: %s", table_name, note)
        with atomic_path(outputs[table_name]) as temporary:
            table.to_csv(temporary, index=False)
        with atomic_path(outputs[f"{table_name}_md"]) as temporary:
            temporary.write_text(render_markdown(table, TABLE_TITLES[table_name], notes))
        log.info("wrote %s with %d rows", outputs[table_name], len(table))

    figure_curves = _select_fits(curves, table_fits(config, "table1"))
    plot_psnr_curves(figure_curves, outputs["figure2_png"], outputs["figure2_pdf"], "In-domain fits of table 1")
    log.info("wrote %s", outputs["figure2_png"])


def _select_fits(frame: pd.DataFrame, fits: list[FitSpec]) -> pd.DataFrame:
    # Merging onto the keys keeps their order: the table's methods and test domains.
    keys = pd.DataFrame([{column: getattr(fit, column) for column in KEY_COLUMNS} for fit in fits])
    return keys.merge(frame, on=KEY_COLUMNS, how="inner")
