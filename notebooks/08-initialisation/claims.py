"""What Question 3's rubric states about section 8.1's eight-layer ReLU network (checked over seeds by
benchmarks/chapter_claims.py): the factor by which one layer multiplies the variance of the signal, for N(0, 1)
weights, PyTorch's default and He initialisation, measured on Fashion-MNIST images."""
import math

import torch
from torch import nn

from course import fashion_mnist_split

DEPTH, WIDTH = 8, 64


def _variances(init: str, images: torch.Tensor, seed: int) -> list[float]:
    """Variance of every Linear layer's output for one batch, weights drawn by ``init``, biases 0."""
    torch.manual_seed(seed)
    h, variances = images, []
    for i in range(DEPTH):
        layer = nn.Linear(784 if i == 0 else WIDTH, WIDTH)  # PyTorch's default: U(+-1/sqrt(n_in)), variance 1/(3 n_in)
        with torch.no_grad():
            if init == "normal":
                layer.weight.normal_(0, 1)
            elif init == "he":
                layer.weight.normal_(0, math.sqrt(2 / layer.in_features))
            layer.bias.zero_()
            z = layer(h)
        variances.append(z.var().item())
        h = torch.relu(z)
    return variances


def measure(seed: int) -> dict[str, float]:
    """First-layer variance (the inputs are pixels) and the geometric-mean factor of the hidden layers."""
    train, _ = fashion_mnist_split()
    generator = torch.Generator().manual_seed(seed)
    rows = torch.randperm(len(train), generator=generator)[:256]
    images = torch.stack([train[int(i)][0].reshape(-1) for i in rows])
    m = {}
    for init in ("normal", "default", "he"):
        v = _variances(init, images, seed)
        m[f"{init} first"] = v[0]
        m[f"{init} hidden"] = math.exp(sum(math.log(b / a) for a, b in zip(v[:-1], v[1:])) / (DEPTH - 1))
    return m


CLAIMS = [
    {"where": "Question 3 rubric", "claim": "N(0, 1): the first layer multiplies by about 160 (pixels in [0, 1]; "
                                            "+-15 with the weights drawn), far below 784 / 2 = 392",
     "values": ["normal first"], "holds": lambda m: 120 < m["normal first"] < 200},
    {"where": "Question 3 rubric", "claim": "N(0, 1): every hidden layer multiplies the variance by about 64 / 2 = 32",
     "values": ["normal hidden"], "holds": lambda m: 24 < m["normal hidden"] < 40},
    {"where": "Question 3 rubric", "claim": "PyTorch's default: about 1/6 per layer (a falling line)",
     "values": ["default hidden"], "holds": lambda m: 1 / 8 < m["default hidden"] < 1 / 4.5},
    {"where": "Question 3 rubric", "claim": "He: about 1 per layer (level)",
     "values": ["he hidden"], "holds": lambda m: 0.75 < m["he hidden"] < 1.33},
]
