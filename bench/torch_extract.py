"""The PyTorch twin of `transferkit extract`, timed by bench/run.ts as a whole process (start to file written).

    python3 torch_extract.py DATA_DIR OUT.npy --model vgg16|mobilenet --size N [--weights FILE.pt]

Class folders of images -> PIL decode, RGB, bilinear resize to N x N, the base's preprocessing, batches of 64,
2 threads -> global-average-pooled features, one float32 row per image, written as .npy. With --weights the
state dict is loaded from FILE.pt (written once by --save-weights), as a user's pretrained base would be.
"""
import argparse
import os
import sys

import numpy as np
import torch
import torch.nn as nn
from PIL import Image

torch.set_num_threads(2)

VGG16 = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]


def vgg16():
    layers, c = [], 3
    for v in VGG16:
        if v == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += [nn.Conv2d(c, v, 3, padding=1), nn.ReLU(inplace=True)]
            c = v
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())


def mobilenet(alpha=0.25):
    """MobileNet v1 as Keras builds it (BatchNorm eps 1e-3, ReLU6), global average pooled."""

    def bn_relu(c):
        return [nn.BatchNorm2d(c, eps=1e-3), nn.ReLU6()]

    blocks = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2)] + [(512, 1)] * 5 + [(1024, 2), (1024, 1)]
    c = int(32 * alpha)
    layers = [nn.Conv2d(3, c, 3, 2, 1, bias=False), *bn_relu(c)]
    for filters, stride in blocks:
        out = int(filters * alpha)
        layers += [nn.Conv2d(c, c, 3, stride, 1, groups=c, bias=False), *bn_relu(c), nn.Conv2d(c, out, 1, bias=False), *bn_relu(out)]
        c = out
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())


def preprocess(model, x):
    if model == "vgg16":  # caffe: BGR, ImageNet means subtracted
        return x[:, [2, 1, 0]] - torch.tensor([103.939, 116.779, 123.68]).view(1, 3, 1, 1)
    return x / 127.5 - 1  # tf: [-1, 1]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("data")
    p.add_argument("out")
    p.add_argument("--model", default="vgg16")
    p.add_argument("--size", type=int, default=32)
    p.add_argument("--weights")
    p.add_argument("--save-weights")
    a = p.parse_args()
    net = (vgg16() if a.model == "vgg16" else mobilenet()).eval()
    if a.save_weights:
        torch.save(net.state_dict(), a.save_weights)
        return
    if a.weights:
        net.load_state_dict(torch.load(a.weights))
    files = [os.path.join(a.data, c, f) for c in sorted(os.listdir(a.data)) for f in sorted(os.listdir(os.path.join(a.data, c)))]
    rows = []
    with torch.no_grad():
        for s in range(0, len(files), 64):
            imgs = [np.asarray(Image.open(f).convert("RGB").resize((a.size, a.size), Image.BILINEAR), dtype=np.float32) for f in files[s:s + 64]]
            x = torch.from_numpy(np.stack(imgs)).permute(0, 3, 1, 2)
            rows.append(net(preprocess(a.model, x)).numpy())
    np.save(a.out, np.concatenate(rows))
    print(len(files), file=sys.stderr)


if __name__ == "__main__":
    main()
