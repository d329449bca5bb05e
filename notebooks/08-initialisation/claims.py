"""What Question 3's rubric and section 8.7's text state about section 8.1's eight-layer ReLU network (checked
over seeds by benchmarks/chapter_claims.py): the factor by which one layer multiplies the variance of the signal,
for N(0, 1) weights, PyTorch's default and He initialisation, measured on Fashion-MNIST images; and ten epochs
of SGD with N(0, 1) weights, with them and the gradient clipped at norm 1, and with He weights."""
import math

import torch
import torch.nn.functional as F
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


def _relu_net(init: str, seed: int) -> nn.Sequential:
    """Section 8.6's relu_net: eight Linear-ReLU blocks and a Linear, weights N(0, 1) or He, biases 0."""
    torch.manual_seed(seed)
    net = nn.Sequential(*[m for i in range(DEPTH) for m in (nn.Linear(784 if i == 0 else WIDTH, WIDTH), nn.ReLU())],
                        nn.Linear(WIDTH, 10))
    with torch.no_grad():
        for m in net:
            if isinstance(m, nn.Linear):
                m.weight.normal_(0, 1 if init == "normal" else math.sqrt(2 / m.in_features))
                m.bias.zero_()
    return net


def _clip(params: list, max_norm: float) -> float:
    """Scale the gradients to global norm max_norm if they are longer; the norm before (Task 8's reference)."""
    grads = [p.grad for p in params if p.grad is not None]
    total = math.sqrt(sum(float((g.double() ** 2).sum()) for g in grads))
    if total > max_norm:
        with torch.no_grad():
            for g in grads:
                g.mul_(max_norm / total)
    return total


def _train_sgd(name: str, init: str, max_norm: float | None, seed: int, train, validation) -> dict[str, float]:
    """Section 8.7's train_sgd: ten epochs of SGD (lr 0.01, minibatches of 32), then the validation accuracy."""
    net = _relu_net(init, seed)
    params = list(net.parameters())
    optimizer = torch.optim.SGD(params, lr=0.01)
    images, labels = train.tensors
    losses, norms = [], []
    for _ in range(10):
        for batch in torch.randperm(len(images)).split(32):
            loss = F.cross_entropy(net(images[batch]), labels[batch])
            optimizer.zero_grad()
            loss.backward()
            norms.append(_clip(params, max_norm) if max_norm is not None else _clip(params, math.inf))
            optimizer.step()
            losses.append(loss.item())
    with torch.no_grad():
        accuracy = (net(validation.tensors[0]).argmax(dim=1) == validation.tensors[1]).float().mean().item()
    return {f"{name}: first gradient norm": norms[0], f"{name}: last loss": losses[-1],
            f"{name}: steps with a finite loss": float(sum(math.isfinite(x) for x in losses)),
            f"{name}: steps": float(len(losses)), f"{name}: validation accuracy": accuracy}


def measure(seed: int) -> dict[str, float]:
    """First-layer variance (the inputs are pixels), the geometric-mean factor of the hidden layers, and section
    8.7's three runs."""
    train, validation = fashion_mnist_split()
    generator = torch.Generator().manual_seed(seed)
    rows = torch.randperm(len(train), generator=generator)[:256]
    images = torch.stack([train[int(i)][0].reshape(-1) for i in rows])
    m = {}
    for init in ("normal", "default", "he"):
        v = _variances(init, images, seed)
        m[f"{init} first"] = v[0]
        m[f"{init} hidden"] = math.exp(sum(math.log(b / a) for a, b in zip(v[:-1], v[1:])) / (DEPTH - 1))
    for name, init, max_norm in (("N(0, 1)", "normal", None), ("clipped", "normal", 1.0), ("He", "he", None)):
        m.update(_train_sgd(name, init, max_norm, seed, train, validation))
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
    {"where": "section 8.7 text", "claim": "N(0, 1) weights: a few times 10^7 for all the weights together (the "
                                          "first step's global norm between 10^7 and 10^8)",
     "values": ["N(0, 1): first gradient norm"],
     "holds": lambda m: 1e7 < m["N(0, 1): first gradient norm"] < 1e8},
    {"where": "section 8.7 text", "claim": "without clipping the loss turns into inf or nan after the first step or two "
                                          "(at most 3 finite losses)",
     "values": ["N(0, 1): steps with a finite loss", "N(0, 1): steps"],
     "holds": lambda m: m["N(0, 1): steps with a finite loss"] <= 3 and not math.isfinite(m["N(0, 1): last loss"])},
    {"where": "section 8.7 text", "claim": "clipped at 1, every loss stays finite but the last is still above 10^5, "
                                          "and the validation accuracy stays under 0.3",
     "values": ["clipped: last loss", "clipped: validation accuracy"],
     "holds": lambda m: m["clipped: steps with a finite loss"] == m["clipped: steps"] and m["clipped: last loss"] > 1e5
     and m["clipped: validation accuracy"] < 0.3},
    {"where": "section 8.7 text", "claim": "He weights learn without any clipping: validation accuracy above 0.5 after "
                                          "the same ten epochs (and over 0.3 above the clipped N(0, 1) run)",
     "values": ["He: validation accuracy"],
     "holds": lambda m: m["He: validation accuracy"] > 0.5 and m["He: validation accuracy"] > m["clipped: validation accuracy"] + 0.3},
]
