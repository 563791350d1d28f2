"""Is the training set's JPEG noise why a model trained on it scores lower on the exact test set?

Writes a copy of the CIFAR-10 test set passed through the same kind of JPEG the shared training set went through
(quality 75, 4:2:0 chroma; shared/data/README.md), in the official binary layout, with links to the training
batches, so that `pann eval --data OUT` reads it. Needs pillow and numpy (any venv: `pip install pillow numpy`).

    python results/train/jpeg_test_check.py ../shared/data/cifar-10-batches-bin /tmp/cifar-jpeg
    for m in runs/train/r20-common/model.safetensors ../shared/models/resnet20-akamaster.safetensors; do
        for d in ../shared/data/cifar-10-batches-bin /tmp/cifar-jpeg; do
            target/release/pann eval --model $m --data $d --alpha 12 --range 60 --json | head -c 120; echo
        done
    done
"""
import io
import os
import sys

import numpy as np
from PIL import Image


def main(src_dir: str, out_dir: str) -> None:
    raw = np.fromfile(os.path.join(src_dir, "test_batch.bin"), dtype=np.uint8).reshape(-1, 3073)
    out = raw.copy()
    for i in range(raw.shape[0]):
        img = raw[i, 1:].reshape(3, 32, 32).transpose(1, 2, 0)
        buf = io.BytesIO()
        Image.fromarray(img).save(buf, format="JPEG", quality=75, subsampling=2)
        buf.seek(0)
        out[i, 1:] = np.array(Image.open(buf).convert("RGB")).transpose(2, 0, 1).reshape(-1)
    os.makedirs(out_dir, exist_ok=True)
    out.tofile(os.path.join(out_dir, "test_batch.bin"))
    for name in [f"data_batch_{k}.bin" for k in range(1, 6)] + ["batches.meta.txt"]:
        link = os.path.join(out_dir, name)
        if not os.path.exists(link):
            os.symlink(os.path.abspath(os.path.join(src_dir, name)), link)
    diff = out[:, 1:].astype(float) - raw[:, 1:].astype(float)
    print(f"RMS change {np.sqrt((diff ** 2).mean()):.2f} grey levels")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
