"""Chapter 5 (multilayer perceptrons): course check (solution, student version, mutants), then real nbgrader
autograde of wrong answers."""
import pytest

from tests.support.chapter_grading import answer, assert_refused, grade_chapter

ASSIGNMENT = "05-mlp"
TESTS_OF = {  # answer cell -> the test cell that grades it
    "relu": "test_relu",
    "mlp_scratch": "test_mlp_scratch",
    "mlp_forward_backward": "test_mlp_forward_backward",
    "train_classifier": "test_train_classifier",
    "parameter_count": "test_parameter_count",
    "make_mlp": "test_make_mlp",
}
# One thread per kernel: the grading machine runs several kernels side by side, and torch's
# default of one thread per core slows every step down by an order of magnitude when cores are shared.
GRADING_ENV = {"OMP_NUM_THREADS": "1"}

MLP_SCRATCH_UNIFORM = '''
class MLPScratch(nn.Module):
    def __init__(self, num_inputs, num_hiddens, num_outputs, sigma=0.01):
        super().__init__()
        self.num_inputs = num_inputs
        self.W1 = nn.Parameter(torch.rand(num_inputs, num_hiddens) * sigma)
        self.b1 = nn.Parameter(torch.zeros(num_hiddens))
        self.W2 = nn.Parameter(torch.rand(num_hiddens, num_outputs) * sigma)
        self.b2 = nn.Parameter(torch.zeros(num_outputs))

    def forward(self, X):
        X = X.reshape(-1, self.num_inputs)
        return torch.relu(X @ self.W1 + self.b1) @ self.W2 + self.b2
'''

BACKPROP = "mlp_forward_backward(X, y, W1, b1, W2, b2)"


def backprop(d_logits: str = "(P - Y) / n", d_hidden: str = "(dO @ W2.T) * (Z > 0)") -> str:
    """A hand-written backward pass with the given gradients of the logits and of the pre-activations."""
    return answer(BACKPROP, f"""
n = X.shape[0]
Z = X @ W1 + b1
H = torch.clamp(Z, min=0)
O = H @ W2 + b2
P = torch.softmax(O, dim=1)
Y = torch.zeros_like(P)
Y[torch.arange(n), y] = 1
loss = (torch.logsumexp(O, dim=1) - O[torch.arange(n), y]).mean()
dO = {d_logits}
dZ = {d_hidden}
return loss, {{"W1": X.T @ dZ, "b1": dZ.sum(dim=0), "W2": H.T @ dO, "b2": dO.sum(dim=0)}}
""")


BY_AUTOGRAD = answer(BACKPROP, """
leaves = [t.detach().clone().requires_grad_() for t in (W1, b1, W2, b2)]
O = torch.relu(X @ leaves[0] + leaves[1]) @ leaves[2] + leaves[3]
loss = nn.functional.cross_entropy(O, y)
loss.backward()
return loss.detach(), dict(zip(["W1", "b1", "W2", "b2"], [t.grad for t in leaves]))
""")

LOOP = "train_classifier(net, train, validation, optimizer, loss_fn, epochs, batch_size=32)"


def loop(train_mode: str = "net.train()", step: str = "optimizer.zero_grad()\nloss.backward()\noptimizer.step()",
         eval_mode: str = "net.eval()", no_grad: str = "torch.no_grad()") -> str:
    """A training loop with the given lines for each of its steps."""
    step = step.replace("\n", "\n        ")
    return answer(LOOP, f"""
from torch.utils.data import DataLoader
history = {{"train loss": [], "validation accuracy": []}}
for _ in range(epochs):
    {train_mode}
    losses = []
    for X, y in DataLoader(train, batch_size=batch_size, shuffle=True):
        loss = loss_fn(net(X), y)
        {step}
        losses.append(loss.item())
    {eval_mode}
    with {no_grad}:
        X, y = next(iter(DataLoader(validation, batch_size=len(validation))))
        correct = (net(X).argmax(dim=1) == y).sum().item()
    history["train loss"].append(sum(losses) / len(losses))
    history["validation accuracy"].append(correct / len(validation))
return history
""")


# Plausible mistakes; each submission leaves the other tasks right, to show that only the broken task loses points.
WRONG = {
    "wrong_a": {
        # a Python loop: right values, but float32 and no gradient
        "relu": answer("relu(x)", "return torch.tensor([max(0.0, float(v)) for v in x.flatten()]).reshape(x.shape)"),
        # a sign error in the backward pass: one-hot minus softmax
        "mlp_forward_backward": backprop(d_logits="(Y - P) / n"),
        # uniform instead of normal initial weights
        "mlp_scratch": MLP_SCRATCH_UNIFORM,
    },
    "wrong_b": {
        # the library function that Task 1 asks to write
        "relu": answer("relu(x)", "return nn.ReLU()(x)"),
        # forgets to reset the gradients, so every step adds the earlier minibatches' gradients again
        "train_classifier": loop(step="loss.backward()\noptimizer.step()"),
        # forgets the biases
        "parameter_count": answer("mlp_parameter_count(sizes)", "return sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))"),
        # one activation module shared by every layer
        "make_mlp": answer("make_mlp(hidden_sizes, n_in=784, n_out=10, activation=nn.ReLU)",
                           "act = activation()\nlayers = []\nfor size in hidden_sizes:\n"
                           "    layers += [nn.Linear(n_in, size), act]\n    n_in = size\n"
                           "return nn.Sequential(*layers, nn.Linear(n_in, n_out))"),
    },
    "wrong_c": {
        # the gradient of the sum of the losses, not of their mean: a missing 1/n
        "mlp_forward_backward": backprop(d_logits="P - Y"),
        # evaluates in training mode
        "train_classifier": loop(eval_mode="pass"),
    },
    "wrong_d": {
        # autograd instead of the chain rule by hand
        "mlp_forward_backward": BY_AUTOGRAD,
        # evaluates with gradients on (a graph built for nothing)
        "train_classifier": loop(no_grad="torch.enable_grad()"),
    },
    "wrong_e": {
        # the ReLU's derivative forgotten
        "mlp_forward_backward": backprop(d_hidden="dO @ W2.T"),
        # never switches back to training mode after the first evaluation
        "train_classifier": loop(train_mode="pass"),
    },
}


RELU = "relu(x)"
GRADS = 'dict(zip(["W1", "b1", "W2", "b2"], grads))'
LEAVES = "leaves = [t.detach().clone().requires_grad_() for t in (W1, b1, W2, b2)]\n"


def loss_of(leaves: str = "leaves") -> str:
    return f"nn.functional.cross_entropy(torch.relu(X @ {leaves}[0] + {leaves}[1]) @ {leaves}[2] + {leaves}[3], y)"


# Other library routes to Task 1's ReLU and Task 3's gradients (each right in value): another operator, an alias
# bound before the answer runs, another entry to the autograd engine
LIBRARY = {
    "library_2": {
        "relu": answer(RELU, "return nn.functional.threshold(x, 0.0, 0.0)"),
        "mlp_forward_backward": "from torch.autograd import grad as library_grad\n" + answer(BACKPROP, LEAVES + (
            f"loss = {loss_of()}\ngrads = library_grad(loss, leaves)\nreturn loss.detach(), {GRADS}")),
    },
    "library_3": {
        "relu": answer(RELU, "return nn.functional.hardtanh(x, 0.0, float('inf'))"),
        "mlp_forward_backward": answer(BACKPROP, f"def f(*leaves):\n    return {loss_of()}\n"
                                                 "grads, loss = torch.func.grad_and_value(f, argnums=(0, 1, 2, 3))(W1, b1, W2, b2)\n"
                                                 f"return loss, {{k: v.detach() for k, v in {GRADS}.items()}}"),
    },
    "library_4": {
        "relu": "from torch.nn.functional import relu as library_relu\n" + answer(RELU, "return library_relu(x)"),
        "mlp_forward_backward": answer(BACKPROP, f"def f(*leaves):\n    return {loss_of()}\n"
                                                 "loss, grads = torch.autograd.functional.vjp(f, (W1, b1, W2, b2))\n"
                                                 f"return loss, {GRADS}"),
    },
    "library_5": {"relu": answer(RELU, "return torch.ops.aten.relu(x)")},
}
REFUSED = {
    "wrong_b": {"test_relu": "nn.ReLU"}, "wrong_d": {"test_mlp_forward_backward": "Tensor.backward"},
    "library_2": {"test_relu": "F.threshold (the same as F.relu)", "test_mlp_forward_backward": "torch.autograd.grad"},
    "library_3": {"test_relu": "F.hardtanh (the same as F.relu)", "test_mlp_forward_backward": "torch.autograd.grad"},
    "library_4": {"test_relu": "F.relu", "test_mlp_forward_backward": "torch.autograd.grad"},
    "library_5": {"test_relu": "aten::relu (it computes torch.relu)"},
}
# Right loops in other forms: training accuracy measured in evaluation mode under no_grad, the epoch's loss as
# the mean over its rows
MEASURES_TRAINING = loop().replace('''        history["train loss"]''', '''        with torch.no_grad():
            right = sum((net(X).argmax(dim=1) == y).sum().item() for X, y in DataLoader(train, batch_size=batch_size))
        history.setdefault("train accuracy", []).append(right / len(train))
        history["train loss"]''')
RIGHT = {"right_loop": {"train_classifier": MEASURES_TRAINING},
         "right_loop_rows": {"train_classifier": loop().replace("losses.append(loss.item())",
                                                                "losses.extend([loss.item()] * len(y))")}}
# Loops that a partial last minibatch exposes: the last rows dropped, the accuracy averaged over unequal batches
BATCH_AVERAGED = loop().replace('''            X, y = next(iter(DataLoader(validation, batch_size=len(validation))))
            correct = (net(X).argmax(dim=1) == y).sum().item()''', '''            accuracies = [(net(X).argmax(dim=1) == y).float().mean().item()
                          for X, y in DataLoader(validation, batch_size=batch_size)]
            correct = sum(accuracies) / len(accuracies) * len(validation)''')
LOOSE = {"drop_last": {"train_classifier": loop().replace("shuffle=True)", "shuffle=True, drop_last=True)")},
         "batch_averaged": {"train_classifier": BATCH_AVERAGED}}


@pytest.mark.slow
def test_chapter_05_autograde(tmp_path, data_env):
    assert MEASURES_TRAINING != loop() and BATCH_AVERAGED != loop()
    grade_chapter(tmp_path, ASSIGNMENT, TESTS_OF, {**WRONG, **LIBRARY, **LOOSE}, env=GRADING_ENV, right=RIGHT)
    for student, refused in REFUSED.items():
        assert_refused(tmp_path, ASSIGNMENT, student, refused)
