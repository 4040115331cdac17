"""Images of wide PIL modes (16-bit, 32-bit integer, float) are scaled to 8 bits, not clipped at 255
(issue 26): a folder of 16-bit PNGs used to train as white squares. Every reader goes through
`image_reading.to_image`: the image folders, the translation folders, `score`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from gan_experiments.data.image_folders import ImageFolderDataset
from gan_experiments.data.image_reading import read_image, to_image
from gan_experiments.score import ImageFiles, scan_folder

#: a ramp over the 16-bit range: black, quarter, mid-grey, three quarters, white
RAMP_16 = np.array([[0, 16384, 32768, 49152, 65535]], dtype=np.uint16)
EXPECTED = [0, 64, 128, 191, 255]


def write_16bit_png(path: Path, values: np.ndarray = RAMP_16) -> Path:
    Image.fromarray(values).save(path)  # uint16 → mode I;16, a 16-bit gray PNG
    with Image.open(path) as written:
        assert written.mode == "I;16"
    return path


@pytest.mark.parametrize("channels", [1, 3])
def test_a_16bit_png_reads_as_its_levels_not_white(tmp_path, channels):
    image = to_image(read_image(write_16bit_png(tmp_path / "ramp.png")), channels)
    assert image.dtype == torch.uint8 and image.shape == (channels, 1, 5)
    for channel in image:
        assert channel[0].tolist() == EXPECTED


def test_16bit_big_endian_and_pil_I_take_the_16bit_scale(tmp_path):
    big_endian = Image.frombytes("I;16B", (5, 1), RAMP_16.astype(">u2").tobytes())
    big_endian.save(tmp_path / "ramp.tif")
    pgm = tmp_path / "ramp.pgm"  # PIL opens a 16-bit PGM as mode I
    pgm.write_bytes(b"P5\n5 1\n65535\n" + RAMP_16.astype(">u2").tobytes())
    for path, mode in ((tmp_path / "ramp.tif", "I;16B"), (pgm, "I")):
        image = read_image(path)
        assert image.mode == mode
        assert to_image(image, 1)[0, 0].tolist() == EXPECTED


def test_float_and_wide_integer_images():
    unit = Image.fromarray(np.array([[0.0, 0.25, 0.5, 0.75, 1.0]], dtype=np.float32))
    assert to_image(unit, 1)[0, 0].tolist() == EXPECTED  # [0, 1]: the float-image convention
    # outside the nominal range: the image's own minimum and maximum
    depth = Image.fromarray(np.array([[-2.0, 0.0, 2.0, np.nan]], dtype=np.float32))
    assert to_image(depth, 1)[0, 0].tolist() == [0, 128, 255, 128]  # NaN reads as 0
    wide = Image.fromarray(np.array([[100_000, 300_000]], dtype=np.int32))
    assert to_image(wide, 1)[0, 0].tolist() == [0, 255]


def test_folders_read_16bit_images_as_mid_grey(tmp_path):
    """The translation folders (and `translate`) and `score`'s Inception path, in RGB."""
    folder = tmp_path / "grey"
    folder.mkdir()
    write_16bit_png(folder / "mid.png", np.full((8, 8), 32768, dtype=np.uint16))
    item = ImageFolderDataset(folder, image_size=8, channels=3)[0]["image"]
    assert item.shape == (3, 8, 8) and item.abs().max() < 0.01  # mid-grey is 0 in [-1, 1]; white is 1
    scored = ImageFiles(scan_folder("fake_dir", folder, skip_bad_images=False))[0]
    assert scored.shape == (3, 8, 8) and scored.abs().max() < 0.01
