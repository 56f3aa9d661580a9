"""One SGD step of vit_tiny's last block + a new linear head in PyTorch autograd, for transferkit's gradient parity.

usage: grad_step.py OUT_DIR
Writes OUT_DIR/vit_tiny.onnx (the whole model, seeded random weights, LayerNorm parameters perturbed so no two
initializers are equal and the exporter merges none) and OUT_DIR/step.json: the lr, the pixels (N,H,W,3 in
0..255), one-hot targets, the head's initial weight/bias, and for every trained parameter (the last encoder
block, the final LayerNorm, the head) its initial and updated values after one step of plain SGD on the mean
cross-entropy.
"""
import sys

import numpy as np
import torch

from export_onnx import MEAN, STD, build
from sgd_step import sgd_step

LR = 0.5
N, SIZE, CLASSES = 4, 64, 2


def main():
    out = sys.argv[1]
    torch.manual_seed(0)
    model = build("vit_tiny").eval()
    g = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.LayerNorm):
                m.weight.add_(torch.randn(m.weight.shape, generator=g) * 0.2)
                m.bias.add_(torch.randn(m.bias.shape, generator=g) * 0.2)
    rng = np.random.default_rng(4)
    pixels = rng.uniform(0, 255, size=(N, SIZE, SIZE, 3)).astype(np.float32)
    x = torch.from_numpy(((pixels / 255.0 - MEAN) / STD).transpose(0, 3, 1, 2).copy())
    torch.onnx.export(
        model, x[:1], f"{out}/vit_tiny.onnx", opset_version=17, input_names=["input"], output_names=["logits"],
        dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}}, do_constant_folding=True,
    )
    labels = np.array([0, 1, 1, 0])
    head = torch.nn.Linear(model.hidden_dim, CLASSES)
    with torch.no_grad():
        head.weight.copy_(torch.randn(head.weight.shape, generator=g) * 0.3)
        head.bias.copy_(torch.randn(head.bias.shape, generator=g) * 0.1)
    model.heads = torch.nn.Identity()
    for p in model.parameters():
        p.requires_grad_(False)
    trained = {f"encoder.layers.encoder_layer_1.{k}": p for k, p in model.encoder.layers[-1].named_parameters()}
    trained.update({f"encoder.ln.{k}": p for k, p in model.encoder.ln.named_parameters()})
    trained.update({f"head.{k}": p for k, p in head.named_parameters()})
    loss = sgd_step(f"{out}/step.json", model, head, trained, pixels, x, labels, LR, CLASSES)
    print("loss", loss, flush=True)


if __name__ == "__main__":
    main()
