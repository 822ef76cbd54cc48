"""torchvision's ImageNet ResNets, fetched once for `--backbone-weights imagenet`. They go where
torchvision keeps them (torch hub's `checkpoints` folder), so a file torchvision already fetched is
used as it is. A download is checked against the SHA-256 prefix in the file's name before it is kept."""
from __future__ import annotations

from pathlib import Path

import torch

from converters import UserError

BASE_URL = "https://download.pytorch.org/models/"
#: ResNet depth -> torchvision's IMAGENET1K_V1 file (its name ends in the first 8 hex digits of its SHA-256)
FILES = {18: "resnet18-f37072fd.pth", 34: "resnet34-b627a593.pth", 50: "resnet50-0676ba61.pth",
         101: "resnet101-63fe2227.pth"}


def imagenet_weights(depth: int, folder: Path | None = None, base_url: str = BASE_URL) -> Path:
    """The ImageNet file for this depth: the one on disk, or downloaded and checked."""
    name = FILES[depth]
    folder = folder or Path(torch.hub.get_dir()) / "checkpoints"
    path = folder / name
    if path.is_file():
        return path
    folder.mkdir(parents=True, exist_ok=True)
    url = base_url + name
    try:  # writes to a temporary name and renames it only when the checksum matches
        torch.hub.download_url_to_file(url, str(path), hash_prefix=name.rsplit("-", 1)[1].split(".")[0])
    except Exception as e:
        raise UserError(f"could not download {url} ({type(e).__name__}: {str(e)[:120]}); "
                        f"download it yourself and give its path to --backbone-weights", path) from None
    return path
