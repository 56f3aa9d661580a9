"""One SGD step of an exported model's last block (and what follows it) + a new linear head, in PyTorch autograd.

usage: hub_grad_step.py OUT_DIR NAME:EXPORTER BLOCK [BATCH]
Exports NAME as export_hub.py does (OUT_DIR/NAME-EXPORTER/), then writes step.json there in grad_step.py's format:
lr, pixels, targets, loss, and for every trained parameter (those registered from module BLOCK on, the model's
classifier replaced by a new 2-class linear head) its initial and updated values after one step of plain SGD on
the mean cross-entropy. Parameters are perturbed and BatchNorms folded into their convolutions before the export, so no two
initializers are equal and each trained tensor is one the graph holds.
"""
import os
import sys

import numpy as np
import torch

import export_hub
from sgd_step import sgd_step

LR = 0.5
N, CLASSES = 4, 2


def perturb(model):
    """Every parameter moved a little: initialisers leave many equal (LayerNorm's ones, zero biases), and equal
    tensors are merged by exporters and cannot be told apart when matching the graph's weights to PyTorch's."""
    g = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn(p.shape, generator=g) * 0.05)


def fuse_batch_norms(model):
    """Folds each BatchNorm2d into the Conv2d just before it, as both exporters do, so that the parameters trained
    here are the tensors the ONNX graph holds (a folded weight trains differently from a weight and a scale)."""
    from torch.nn.utils.fusion import fuse_conv_bn_eval
    for parent in list(model.modules()):
        children = list(parent.named_children())
        for (a, conv), (b, bn) in zip(children, children[1:]):
            if isinstance(conv, torch.nn.Conv2d) and type(bn) is torch.nn.BatchNorm2d:
                setattr(parent, a, fuse_conv_bn_eval(conv, bn))
                setattr(parent, b, torch.nn.Identity())


def fold_position_bias(model):
    """Swin's relative position bias is a table gathered by a constant index: both exporters fold the gather, so the
    graph trains the gathered (1, heads, window², window²) tensor. The reference step trains that tensor too."""
    for m in list(model.modules()):
        if type(m).__name__ == "SwinRelativePositionBias":
            with torch.no_grad():
                folded = torch.nn.Parameter(m().clone())
            del m.relative_position_bias_table
            m.folded = folded
            m.forward = lambda m=m: m.folded


def main():
    global N
    out, spec, block = sys.argv[1], sys.argv[2], sys.argv[3]
    N = int(sys.argv[4]) if len(sys.argv) > 4 else N
    name, exporter = spec.split(":")
    make = export_hub.MODELS[name]

    def perturbed():
        built = make()
        export_hub.randomise_norm_stats(built[0].eval())
        fuse_batch_norms(built[0])
        perturb(built[0])
        return built

    export_hub.MODELS[name] = perturbed
    e = export_hub.export(out, name, exporter)
    model, wrapped, classifier = e["model"], e["wrapped"], e["classifier"]
    fold_position_bias(model)
    g = torch.Generator().manual_seed(5)
    head = torch.nn.Linear(classifier.in_features, CLASSES)
    with torch.no_grad():
        head.weight.copy_(torch.randn(head.weight.shape, generator=g) * 0.3)
        head.bias.copy_(torch.randn(head.bias.shape, generator=g) * 0.1)
    # The classifier's input is the features: the classifier itself gives way to the identity.
    parent_name, _, attr = next(k for k, m in model.named_modules() if m is classifier).rpartition(".")
    setattr(model.get_submodule(parent_name) if parent_name else model, attr, torch.nn.Identity())
    names = [k for k, _ in wrapped.named_parameters()]
    first = next(i for i, k in enumerate(names) if k.startswith(block + "."))
    params = dict(wrapped.named_parameters())
    for p in params.values():
        p.requires_grad_(False)
    trained = {k: params[k] for k in names[first:]}
    trained.update({f"head.{k}": p for k, p in head.named_parameters()})
    rng = np.random.default_rng(4)
    size = export_hub.SIZE
    pixels = rng.uniform(0, 255, size=(N, size, size, 3)).astype(np.float32)
    x = torch.from_numpy(((pixels * e["rescale"] - e["mean"]) / e["std"]).transpose(0, 3, 1, 2).copy().astype(np.float32))

    def features_of(batch):
        y = wrapped(batch)
        return (y[0] if isinstance(y, tuple) else y).reshape(N, -1)

    labels = np.resize([0, 1, 1, 0], N)
    loss = sgd_step(os.path.join(e["folder"], "step.json"), features_of, head, trained, pixels, x, labels, LR, CLASSES)
    print("loss", loss, "trained", len(trained), flush=True)


if __name__ == "__main__":
    main()
