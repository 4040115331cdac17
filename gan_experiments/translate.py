"""`python -m gan_experiments.translate ckpt_path=… input_dir=… output_dir=…`: every image of a folder
through a trained pix2pix or CycleGAN generator, with an index page of the pairs."""

from __future__ import annotations

import html
import logging
from pathlib import Path

import torch
from omegaconf import DictConfig
from torch.utils.data import DataLoader, Dataset

from gan_experiments.atomic import check_output_folder
from gan_experiments.checkpoints import load_model
from gan_experiments.cli import hydra_command
from gan_experiments.config import validate
from gan_experiments.data.image_folders import ImageFolderDataset, PairedImageDataset
from gan_experiments.devices import resolve_device
from gan_experiments.errors import ConfigError, UserError
from gan_experiments.image_files import save_image_file
from gan_experiments.models.translation import TranslationModule

log = logging.getLogger("gan_experiments.translate")


def input_dataset(cfg: DictConfig, run: DictConfig, model: TranslationModule) -> Dataset:
    image_size = cfg.image_size or run.data.image_size
    if cfg.paired_input:
        if model.data_layout == "unpaired":
            raise UserError(
                "paired_input=true is for pix2pix checkpoints (A|B pairs); CycleGAN takes single images"
            )
        return PairedImageDataset(
            cfg.input_dir, train=False, direction=run.data.direction, image_size=image_size, flip=False,
            channels_a=run.data.channels_a, channels_b=run.data.channels_b,
        )  # fmt: skip
    channels = model.in_channels if cfg.direction == "AtoB" else model.out_channels
    return ImageFolderDataset(cfg.input_dir, image_size=image_size, channels=channels)


def write_index(output_dir: Path, rows: list[dict[str, str]]) -> Path:
    columns = [c for c in ("input", "output", "target") if any(c in row for row in rows)]
    cells = "\n".join(
        "<tr><td>{}</td>{}</tr>".format(
            html.escape(row["name"]),
            "".join(
                f'<td><img src="{html.escape(row[c])}" loading="lazy"></td>' for c in columns if c in row
            ),
        )
        for row in rows
    )
    page = output_dir / "index.html"
    page.write_text(
        "<!doctype html><meta charset=utf-8><title>translations</title>"
        "<style>img{width:256px;image-rendering:pixelated}td{padding:2px;font:12px sans-serif}</style>"
        f"<table><tr><th>file</th>{''.join(f'<th>{c}</th>' for c in columns)}</tr>\n{cells}\n</table>\n"
    )
    return page


def translate(cfg: DictConfig) -> list[Path]:
    validate(cfg)
    if cfg.direction not in ("AtoB", "BtoA"):
        raise UserError(f"direction must be AtoB or BtoA, got {cfg.direction!r}")
    output_dir = check_output_folder("output_dir", cfg.output_dir)
    for sub in ("inputs", "targets") if cfg.paired_input else ("inputs",):
        check_output_folder("output_dir", output_dir / sub)
    if output_dir.resolve() == Path(str(cfg.input_dir)).expanduser().resolve():
        raise ConfigError(
            f"output_dir={cfg.output_dir}: that is input_dir; the translations keep the input file names "
            "and would replace the inputs; choose another folder"
        )
    device = resolve_device(cfg.device)
    model, run = load_model(cfg.ckpt_path, device, trust=cfg.trust_checkpoint)
    if model.data_layout == "images":
        raise UserError(
            f"ckpt_path={cfg.ckpt_path}: a {type(model).__name__} checkpoint; "
            "translate needs pix2pix or CycleGAN"
        )
    if model.data_layout != "unpaired" and cfg.direction != "AtoB":  # pix2pix: one direction
        raise UserError(
            "direction=BtoA: a pix2pix generator translates only its training direction "
            "(train with data.direction=BtoA)"
        )
    loader = DataLoader(
        input_dataset(cfg, run, model), batch_size=cfg.batch_size, num_workers=cfg.num_workers
    )
    for sub in ("inputs", "targets") if cfg.paired_input else ("inputs",):
        (output_dir / sub).mkdir(parents=True, exist_ok=True)
    model.train(not cfg.eval_mode)
    torch.manual_seed(cfg.seed)
    written, rows = [], []
    with torch.no_grad():
        for batch in loader:
            inputs, paths = (
                (batch["A"], batch["A_path"]) if cfg.paired_input else (batch["image"], batch["path"])
            )
            kwargs = {"direction": cfg.direction} if model.data_layout == "unpaired" else {}
            outputs = model(inputs.to(device), **kwargs)
            for i, source in enumerate(paths):
                name = Path(source).name
                save_image_file(outputs[i], output_dir / name)
                save_image_file(inputs[i], output_dir / "inputs" / name)
                row = {"name": name, "input": f"inputs/{name}", "output": name}
                if cfg.paired_input:
                    save_image_file(batch["B"][i], output_dir / "targets" / name)
                    row["target"] = f"targets/{name}"
                rows.append(row)
                written.append(output_dir / name)
    page = write_index(output_dir, rows)
    log.info(
        "translated %d images from %s into %s (index: %s)", len(written), cfg.input_dir, output_dir, page
    )
    return written


main = hydra_command(translate, "translate", log)


if __name__ == "__main__":
    main()
