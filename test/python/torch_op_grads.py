"""PyTorch autograd (float64) of single ops, for test/export-op-grads.test.ts.

Reads on stdin a JSON list of cases {name, expr, inputs: [{name, dims, values}], seed}; for each evaluates the
Python expression `expr` over the inputs (with torch and F in scope), takes the gradient of sum(out * seed) and
writes {case name: {input name: flat gradient}} as JSON.
"""
import json
import sys

import torch
import torch.nn.functional as F

out = {}
for case in json.load(sys.stdin):
    env = {"torch": torch, "F": F}
    for i in case["inputs"]:
        env[i["name"]] = torch.tensor(i["values"], dtype=torch.float64).reshape(i["dims"]).requires_grad_()
    y = eval(case["expr"], env)
    weights = torch.tensor(case["seed"], dtype=torch.float64).reshape(y.shape)
    (y * weights).sum().backward()
    out[case["name"]] = {i["name"]: env[i["name"]].grad.reshape(-1).tolist() for i in case["inputs"]}
json.dump(out, sys.stdout)
