"""Transformers' image processors on real photos, for transferkit's preprocessing parity.

usage: hf_preprocess.py OUT_DIR IMAGE ...
For each processor below (the configurations the hub's checkpoints carry: squash, squash then crop, shortest
edge then crop, ConvNeXt's crop_pct) writes OUT_DIR/NAME/preprocessor_config.json and OUT_DIR/NAME/pixels.f32:
pixel_values of the images, (N, 3, H, W) little-endian float32, as the processor gives them.
"""
import os
import sys

import numpy as np
from PIL import Image

import export_hub  # noqa: F401  (torchvision's operator schemas, declared before transformers imports it)
import transformers as T

PROCESSORS = {
    # google/vit-base-patch16-224: squashed to 224 × 224, bilinear.
    "vit": lambda: T.ViTImageProcessor(size={"height": 224, "width": 224}, resample=2),
    # facebook/deit-base-distilled-patch16-224: squashed to 256 × 256, bicubic, centre crop 224.
    "deit": lambda: T.DeiTImageProcessor(size={"height": 256, "width": 256}, crop_size={"height": 224, "width": 224}, resample=3),
    # facebook/dinov2-small: shortest edge 256, bicubic, centre crop 224.
    "dinov2": lambda: T.BitImageProcessor(size={"shortest_edge": 256}, crop_size={"height": 224, "width": 224}, resample=3),
    # openai/clip-vit-base-patch32: shortest edge 224, bicubic, centre crop 224.
    "clip": lambda: T.CLIPImageProcessor(size={"shortest_edge": 224}, crop_size={"height": 224, "width": 224}, resample=3),
    # facebook/convnext-tiny-224: shortest edge 224 / crop_pct 0.875 = 256, bicubic, centre crop 224.
    "convnext": lambda: T.ConvNextImageProcessor(size={"shortest_edge": 224}, crop_pct=0.875, resample=3),
}


def main():
    out, files = sys.argv[1], sys.argv[2:]
    images = [Image.open(f).convert("RGB") for f in files]
    for name, make in PROCESSORS.items():
        proc = make()
        folder = os.path.join(out, name)
        os.makedirs(folder, exist_ok=True)
        proc.save_pretrained(folder)
        x = proc(images=images, return_tensors="np")["pixel_values"].astype("<f4")
        x.tofile(os.path.join(folder, "pixels.f32"))
        print(name, x.shape, flush=True)


if __name__ == "__main__":
    main()
