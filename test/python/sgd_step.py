"""One plain SGD step in PyTorch autograd, written as step.json for transferkit's gradient parity tests."""
import json

import numpy as np
import torch


def sgd_step(file, features_of, head, trained, pixels, x, labels, lr, classes):
    """Trains `trained` (name → parameter) one step on the mean cross-entropy of head(features_of(x)); writes `file`:
    the lr, loss, pixels (N,H,W,3 in 0..255), one-hot targets, and each parameter's initial and updated values."""
    for p in trained.values():
        p.requires_grad_(True)
    initial = {k: p.detach().clone() for k, p in trained.items()}
    loss = torch.nn.functional.cross_entropy(head(features_of(x)), torch.from_numpy(labels))
    loss.backward()
    with torch.no_grad():
        for p in trained.values():
            p.sub_(lr * p.grad)
    result = {
        "lr": lr,
        "loss": loss.item(),
        "pixels": pixels.reshape(-1).tolist(),
        "shape": list(pixels.shape),
        "targets": np.eye(classes, dtype=np.float32)[labels].reshape(-1).tolist(),
        "params": [
            {"name": k, "shape": list(p.shape), "initial": initial[k].reshape(-1).tolist(), "updated": p.detach().reshape(-1).tolist()}
            for k, p in trained.items()
        ],
    }
    with open(file, "w") as f:
        json.dump(result, f)
    return loss.item()
