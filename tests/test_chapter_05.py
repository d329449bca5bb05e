"""Chapter 5 (multilayer perceptrons): real nbgrader autograde of the solution, the student version and wrong answers."""
import pytest

from chapter_grading import answer, assert_refused, grade_chapter

ASSIGNMENT = "05-mlp"
TESTS_OF = {  # answer cell -> the test cell that grades it
    "relu": "test_relu",
    "derivative": "test_derivative",
    "mlp_scratch": "test_mlp_scratch",
    "sgd_step": "test_sgd_step",
    "build_mlp": "test_build_mlp",
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

# Plausible mistakes; each submission leaves the other tasks right, to show that only the broken task loses points.
WRONG = {
    "wrong_a": {
        # a Python loop: right values, but float32 and no gradient
        "relu": answer("relu(x)", "return torch.tensor([max(0.0, float(v)) for v in x.flatten()]).reshape(x.shape)"),
        # changes the caller's tensor and leaves the graph attached
        "derivative": answer("derivative(f, x)", "x.requires_grad_(True)\nf(x).sum().backward()\nreturn x.grad"),
        # uniform instead of normal initial weights
        "mlp_scratch": MLP_SCRATCH_UNIFORM,
    },
    "wrong_b": {
        # the library function that Task 1 asks to write
        "relu": answer("relu(x)", "return nn.ReLU()(x)"),
        # forgets to zero the gradients, so the next step adds the old gradient again
        "sgd_step": answer("sgd_step(params, lr)", "with torch.no_grad():\n    for p in params:\n"
                           "        if p.grad is not None:\n            p -= lr * p.grad"),
        # a missing activation between the hidden layers
        "build_mlp": answer("build_mlp()", "return nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 64), "
                            "nn.Linear(64, 10))"),
        # forgets the biases
        "parameter_count": answer("mlp_parameter_count(sizes)", "return sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))"),
        # one activation module shared by every layer
        "make_mlp": answer("make_mlp(hidden_sizes, n_in=784, n_out=10, activation=nn.ReLU)",
                           "act = activation()\nlayers = []\nfor size in hidden_sizes:\n"
                           "    layers += [nn.Linear(n_in, size), act]\n    n_in = size\n"
                           "return nn.Sequential(*layers, nn.Linear(n_in, n_out))"),
    },
}


@pytest.mark.slow
def test_chapter_05_autograde(tmp_path, data_env):
    grade_chapter(tmp_path, ASSIGNMENT, TESTS_OF, WRONG, env=GRADING_ENV)
    assert_refused(tmp_path, ASSIGNMENT, "wrong_b", {"test_relu": "nn.ReLU"})
