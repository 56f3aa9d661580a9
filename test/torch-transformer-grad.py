# PyTorch autograd (float64) of the tiny transformer block in test/onnx-grad.test.ts: reads the inputs' values
# and the loss weights as JSON on stdin, writes every input's gradient as JSON.
import json
import math
import sys

import torch

data = json.load(sys.stdin)
shapes = {'x': [2, 4, 8], 'ln1s': [8], 'ln1b': [8], 'wq': [8, 8], 'wk': [8, 8], 'wv': [8, 8], 'wo': [8, 8],
          'ln2s': [8], 'ln2b': [8], 'w1': [8, 16], 'b1': [16], 'w2': [16, 8], 'b2': [8]}
v = {k: torch.tensor(data['values'][k], dtype=torch.float64).reshape(s).requires_grad_() for k, s in shapes.items()}
ln = lambda a, s, b: torch.nn.functional.layer_norm(a, (8,), s, b, eps=1e-5)
h = ln(v['x'], v['ln1s'], v['ln1b'])
q, k, val = h @ v['wq'], h @ v['wk'], h @ v['wv']
attn = torch.softmax((q @ k.transpose(1, 2)) / math.sqrt(8), dim=-1) @ val
r1 = v['x'] + attn @ v['wo']
mlp = torch.nn.functional.gelu(ln(r1, v['ln2s'], v['ln2b']) @ v['w1'] + v['b1']) @ v['w2'] + v['b2']
loss = ((r1 + mlp) * torch.tensor(data['lossWeights'], dtype=torch.float64).reshape(2, 4, 8)).sum()
loss.backward()
json.dump({k: t.grad.reshape(-1).tolist() for k, t in v.items()}, sys.stdout)
