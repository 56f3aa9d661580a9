"""An ONNX seed for the fuzz suite exported by torch.onnx (a small convnet, random weights).
Usage: torch_onnx.py OUT.onnx"""
import sys

import torch

torch.manual_seed(0)
net = torch.nn.Sequential(
    torch.nn.Conv2d(3, 8, 3, stride=2, padding=1),
    torch.nn.BatchNorm2d(8),
    torch.nn.ReLU(),
    torch.nn.Conv2d(8, 16, 3, stride=2, padding=1),
    torch.nn.ReLU(),
    torch.nn.AdaptiveAvgPool2d(1),
    torch.nn.Flatten(),
    torch.nn.Linear(16, 4),
).eval()
torch.onnx.export(net, torch.randn(1, 3, 32, 32), sys.argv[1], input_names=["pixel_values"], output_names=["logits"], opset_version=13)
