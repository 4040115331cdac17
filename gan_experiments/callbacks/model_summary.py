"""The networks of a run as a table, without Lightning's FLOPs column.

Lightning counts FLOPs only by running a module's `example_input_array`; a GAN module has no single
input (G takes noise, D images), so Lightning's table shows 0 FLOPs for every layer and in total, which
reads as something being wrong. This summary shows what is known: names, types, parameters, mode.
"""

from __future__ import annotations

from typing import Any

from lightning.pytorch.callbacks import RichModelSummary
from lightning.pytorch.utilities.model_summary import get_human_readable_count
from lightning.pytorch.utilities.model_summary.model_summary import get_formatted_model_size


class NetworkSummary(RichModelSummary):
    @staticmethod
    def summarize(
        summary_data: list[tuple[str, list[str]]],
        total_parameters: int,
        trainable_parameters: int,
        model_size: float,
        total_training_modes: dict[str, int],
        total_flops: int = 0,
        **summarize_kwargs: Any,
    ) -> None:
        from rich import get_console
        from rich.table import Table

        columns = dict(summary_data)
        shown = [name for name in ("Name", "Type", "Params", "Mode") if name in columns]
        table = Table(header_style=summarize_kwargs.get("header_style", "bold magenta"))
        table.add_column(" ", style="dim")
        for name in shown:
            table.add_column(name, justify="right" if name == "Params" else "left", no_wrap=name == "Name")
        for index, row in enumerate(zip(*(columns[name] for name in shown), strict=True)):
            table.add_row(str(index), *row)
        console = get_console()
        console.print(table)
        frozen = total_parameters - trainable_parameters
        kept = f", kept without training (EMA of G): {get_human_readable_count(frozen)}" if frozen else ""
        console.print(
            f"Trained params: {get_human_readable_count(trainable_parameters)}{kept}; total "
            f"{get_human_readable_count(total_parameters)} ({get_formatted_model_size(model_size)} MB)"
        )
