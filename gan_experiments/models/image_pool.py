"""History of generated images (Shrivastava et al.), as CycleGAN uses it: D sees a mix of current
and earlier fakes, which damps oscillation."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor


class ImagePool:
    """Up to `size` past images. While filling, each query image is stored and returned; when full,
    each is with probability ½ swapped against a random stored one (the stored one is returned)."""

    def __init__(self, size: int = 50, seed: int = 0) -> None:
        if size < 0:
            raise ValueError(f"pool size must be >= 0, got {size}")
        self.size = size
        self.images: list[Tensor] = []
        self.rng = torch.Generator().manual_seed(seed)

    def query(self, images: Tensor) -> Tensor:
        if self.size == 0:
            return images
        out = []
        for image in images.detach():
            image = image.unsqueeze(0)
            if len(self.images) < self.size:
                self.images.append(image.clone())
                out.append(image)
            elif torch.rand((), generator=self.rng) < 0.5:
                slot = int(torch.randint(0, self.size, (), generator=self.rng))
                out.append(self.images[slot].to(image.device))
                self.images[slot] = image.clone()
            else:
                out.append(image)
        return torch.cat(out)

    def state_dict(self) -> dict[str, Any]:
        return {"images": [t.cpu() for t in self.images], "rng": self.rng.get_state(), "size": self.size}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.images = list(state["images"])
        self.rng.set_state(state["rng"])

    # Pickling (ddp_spawn sends the model to every rank): the generator's state as bytes. Pickled as it
    # is, it becomes a temporary shared-memory tensor whose file descriptor is closed before the rank
    # process starts ("ValueError: bad value(s) in fds_to_keep").
    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "rng": self.rng.get_state().numpy().tobytes()}

    def __setstate__(self, state: dict[str, Any]) -> None:
        rng_state = torch.frombuffer(bytearray(state["rng"]), dtype=torch.uint8)
        self.__dict__.update({**state, "rng": torch.Generator()})
        self.rng.set_state(rng_state)
