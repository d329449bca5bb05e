"""Chapter 3 (linear regression): course check (solution, student version, mutants), then real nbgrader autograde
of wrong answers."""
import pytest

from tests.support.chapter_grading import answer, assert_refused, grade_chapter

ASSIGNMENT = "03-linear-regression"
TESTS_OF = {  # answer cell -> the test cell that grades it
    "minibatches": "test_minibatches",
    "linreg": "test_linreg",
    "squared_loss": "test_squared_loss",
    "sgd_step": "test_sgd_step",
    "train_linear_regression": "test_train_linear_regression",
    "fit_polynomial": "test_fit_polynomial",
}
BATCHES = "minibatches(X, y, batch_size, shuffle=True, generator=None)"
LINREG = "linreg(X, w, b)"
LOSS = "squared_loss(y_hat, y)"
SGD = "sgd_step(params, lr)"
TRAIN = "train_linear_regression(X, y, lr, num_epochs, batch_size, seed=0)"
POLYNOMIAL = "fit_polynomial(x, y, degree)"


def batches(order: str, stop: str = "n", index_y: str = "index") -> str:
    """A minibatches answer with the given order, loop end and label indexing (wrong ones in these tests)."""
    return answer(BATCHES, f"""
n = len(X)
order = {order}
for start in range(0, {stop}, batch_size):
    index = order[start:start + batch_size]
    yield X[index], y[{index_y}]
""")


def sgd(update: str, zero: bool = True) -> str:
    return answer(SGD, f"with torch.no_grad():\n    for p in params:\n        {update}\n"
                       + ("        p.grad.zero_()\n" if zero else ""))


def train(lr: str = "lr", steps: str = "optimizer.zero_grad()\nloss = loss_fn(net(X_batch), y_batch)\n"
          "loss.backward()\noptimizer.step()") -> str:
    """A train_linear_regression answer with the given learning rate and inner loop (wrong ones in these tests)."""
    body = "\n".join("        " + line for line in steps.splitlines())
    return ("from torch.utils.data import DataLoader, TensorDataset\n\n" + answer(TRAIN, f"""
torch.manual_seed(seed)
net = nn.Linear(X.shape[1], 1)
loss_fn = nn.MSELoss()
optimizer = torch.optim.SGD(net.parameters(), lr={lr})
loader = DataLoader(TensorDataset(X, y), batch_size=batch_size, shuffle=True)
for epoch in range(num_epochs):
    for X_batch, y_batch in loader:
{body}
return net
"""))


PERMUTATION = "torch.randperm(n, generator=generator) if shuffle else torch.arange(n)"
# Plausible mistakes; each submission leaves some tasks right, to show that only the broken task loses points.
WRONG = {
    "wrong_a": {
        "minibatches": batches(PERMUTATION, stop="n - batch_size + 1"),  # drops the last, short batch
        "squared_loss": answer(LOSS, "return ((y_hat - y) ** 2 / 2).mean()"),  # (n, 1) - (n,) broadcasts to (n, n)
        "train_linear_regression": train(steps="loss = loss_fn(net(X_batch), y_batch)\nloss.backward()\noptimizer.step()"),
        # one column too few: a polynomial of degree - 1
        "fit_polynomial": answer(POLYNOMIAL, "return torch.linalg.lstsq(polynomial_features(x, degree - 1), y).solution"),
    },
    "wrong_b": {
        "minibatches": batches("torch.randperm(n) if shuffle else torch.arange(n)"),  # ignores the generator
        "linreg": answer(LINREG, "return X @ w"),
        "sgd_step": sgd("p -= lr * p.grad", zero=False),
        "train_linear_regression": train(lr="0.03"),
        # least squares in float32: right for low degrees, off by tenths at degree 10
        "fit_polynomial": answer(POLYNOMIAL, "return torch.linalg.lstsq(polynomial_features(x, degree), "
                                             "y.reshape(-1, 1)).solution"),
    },
    "wrong_c": {
        "minibatches": batches(PERMUTATION, index_y="torch.randperm(n, generator=generator)[start:start + batch_size]"),
        "linreg": answer(LINREG, "return (X * w.T).sum(dim=1) + b"),
        "squared_loss": answer(LOSS, "return ((y_hat - y.reshape(y_hat.shape)) ** 2 / 2).sum()"),
        "sgd_step": sgd("p += lr * p.grad"),
        "train_linear_regression": train(steps="optimizer.zero_grad()\nloss = loss_fn(net(X_batch), y_batch)\n"
                                               "optimizer.step()\nloss.backward()"),
    },
}
# The update that Task 4 asks to write, done by an optimiser: each loses the task's points
ZERO = "\nfor p in params:\n    p.grad.zero_()"
LIBRARY = {
    "library_1": {"sgd_step": answer(SGD, "torch.optim.SGD(params, lr=lr).step()" + ZERO)},
    "library_2": {"sgd_step": answer(SGD, "with torch.no_grad():\n"
                                          "    torch.optim._functional.sgd(params, [p.grad for p in params], [None] * len(params), "
                                          "weight_decay=0.0, momentum=0.0, lr=lr, dampening=0.0, nesterov=False, maximize=False)"
                                     + ZERO)},
    "library_3": {"sgd_step": answer(SGD, "with torch.no_grad():\n"
                                          "    torch._foreach_add_(params, [p.grad for p in params], alpha=-lr)" + ZERO)},
}
REFUSED = {"library_1": "SGD.step", "library_2": "torch.optim._functional.sgd",
           "library_3": "aten::_foreach_add_ (an operator torch.optim uses)"}
# Right answers in another form: p.sub_(p.grad, alpha=lr), as torch.optim.SGD writes it, is 1.5e-8 off an exact 0
RIGHT = {"right_sub": {"sgd_step": answer(SGD, "with torch.no_grad():\n    for p in params:\n"
                                               "        p.sub_(p.grad, alpha=lr)\n        p.grad.zero_()")}}


@pytest.mark.slow
def test_chapter_03_autograde(tmp_path):
    grade_chapter(tmp_path, ASSIGNMENT, TESTS_OF, {**WRONG, **LIBRARY}, right=RIGHT)
    for student, name in REFUSED.items():
        assert_refused(tmp_path, ASSIGNMENT, student, {"test_sgd_step": name})
