"""Chapter 9 (batch normalisation): course check (solution, student version, mutants), then real nbgrader autograde
of wrong answers. The module task calls the student's ``batch_norm`` function, so a wrong function costs the
module's points too; this test states that dependency instead of using ``grade_chapter``'s one-to-one check."""
import pytest

from tests.support.chapter_grading import assert_refused, check_chapter
from tests.support.nbgrader_harness import grade_submissions

ASSIGNMENT = "09-batchnorm"
TESTS_OF = {  # answer cell -> the test cells it can make fail
    "batch_norm": {"test_batch_norm", "test_batchnorm_module"},
    "batchnorm_module": {"test_batchnorm_module"},
    "build_net": {"test_build_net"},
    "largest_usable_lr": {"test_largest_usable_lr"},
}
GRADING_ENV = {"OMP_NUM_THREADS": "1"}  # one thread per kernel (see test_chapter_05)

BATCH_NORM_UNBIASED = '''
def batch_norm(X, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):
    if training:
        mean, var = X.mean(dim=0), X.var(dim=0)  # unbiased variance used for normalising
        X_hat = (X - mean) / torch.sqrt(var + eps)
        running_mean = (1 - momentum) * running_mean + momentum * mean.detach()
        running_var = (1 - momentum) * running_var + momentum * var.detach()
    else:
        X_hat = (X - running_mean) / torch.sqrt(running_var + eps)
    return gamma * X_hat + beta, running_mean, running_var
'''
MODULE_PARAMETERS = '''
class BatchNorm(nn.Module):
    def __init__(self, num_features, momentum=0.1, eps=1e-5):
        super().__init__()
        self.momentum, self.eps = momentum, eps
        self.gamma = nn.Parameter(torch.ones(num_features))
        self.beta = nn.Parameter(torch.zeros(num_features))
        # running statistics as trainable parameters instead of buffers
        self.running_mean = nn.Parameter(torch.zeros(num_features), requires_grad=False)
        self.running_var = nn.Parameter(torch.ones(num_features), requires_grad=False)

    def forward(self, X):
        Y, mean, var = batch_norm(X, self.gamma, self.beta, self.running_mean, self.running_var,
                                  self.training, self.momentum, self.eps)
        if self.training:
            self.running_mean.data, self.running_var.data = mean.detach(), var.detach()
        return Y
'''
BUILD_NET_AFTER_RELU = '''
def build_net(use_batch_norm=False):
    layers = []
    for n_in, n_out in ((784, 128), (128, 64)):
        layers += [nn.Linear(n_in, n_out), nn.ReLU()]
        if use_batch_norm:
            layers.append(nn.BatchNorm1d(n_out))
    return nn.Sequential(*layers, nn.Linear(64, 10))
'''
LAST_NOT_BEST = '''
def largest_usable_lr(histories, threshold=0.7):
    usable = [lr for lr, h in histories.items() if h["validation accuracy"][-1] >= threshold]
    return max(usable) if usable else None
'''

# The library functions that Tasks 1 and 2 ask to write (the module's running statistics updated in place).
BATCH_NORM_LIBRARY = '''
def batch_norm(X, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):
    running_mean, running_var = running_mean.clone(), running_var.clone()
    Y = nn.functional.batch_norm(X, running_mean, running_var, gamma, beta, training, momentum, eps)
    return Y, running_mean, running_var
'''
MODULE_LIBRARY = '''
class BatchNorm(nn.Module):
    def __init__(self, num_features, momentum=0.1, eps=1e-5):
        super().__init__()
        self.momentum, self.eps = momentum, eps
        self.gamma = nn.Parameter(torch.ones(num_features))
        self.beta = nn.Parameter(torch.zeros(num_features))
        self.register_buffer("running_mean", torch.zeros(num_features))
        self.register_buffer("running_var", torch.ones(num_features))

    def forward(self, X):
        return torch.batch_norm(X, self.gamma, self.beta, self.running_mean, self.running_var, self.training,
                                self.momentum, self.eps, False)
'''

# Other routes to Tasks 1 and 2 through the library (each right in value): a normalisation layer that reduces to
# batch norm on the transposed batch (layer norm, instance norm with running statistics), an alias bound before the
# answer runs, the ATen operator itself
BY_HAND_EVAL = '''
    if not training:
        return gamma * (X - running_mean) / torch.sqrt(running_var + eps) + beta, running_mean, running_var
    n = X.shape[0]
    with torch.no_grad():
        running_mean = (1 - momentum) * running_mean + momentum * X.mean(dim=0)
        running_var = (1 - momentum) * running_var + momentum * X.var(dim=0)
'''
BATCH_NORM_SIGNATURE = "\ndef batch_norm(X, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):"
BATCH_NORM_LAYER_NORM = BATCH_NORM_SIGNATURE + BY_HAND_EVAL + '''    X_hat = nn.functional.layer_norm(X.T, (n,), eps=eps).T
    return gamma * X_hat + beta, running_mean, running_var
'''
BATCH_NORM_INSTANCE_NORM = BATCH_NORM_SIGNATURE + '''
    running_mean, running_var = running_mean.clone(), running_var.clone()
    Y = nn.functional.instance_norm(X.T[None], running_mean, running_var, gamma, beta, use_input_stats=training,
                                    momentum=momentum, eps=eps)[0].T
    return Y, running_mean, running_var
'''
BATCH_NORM_ALIAS = "library_batch_norm = nn.functional.batch_norm\n" + BATCH_NORM_LIBRARY.replace(
    "nn.functional.batch_norm(", "library_batch_norm(")
MODULE_OPERATOR = MODULE_LIBRARY.replace("torch.batch_norm(", "torch.ops.aten.native_batch_norm(").replace(
    ", False)", ")[0]")
MODULE_GROUP_NORM = MODULE_LIBRARY.replace('''        return torch.batch_norm(X, self.gamma, self.beta, self.running_mean, self.running_var, self.training,
                                self.momentum, self.eps, False)''', '''        if not self.training:
            return self.gamma * (X - self.running_mean) / torch.sqrt(self.running_var + self.eps) + self.beta
        with torch.no_grad():
            self.running_mean.mul_(1 - self.momentum).add_(self.momentum * X.mean(dim=0))
            self.running_var.mul_(1 - self.momentum).add_(self.momentum * X.var(dim=0))
        X_hat = nn.functional.group_norm(X.T[None], X.shape[1], eps=self.eps)[0].T
        return self.gamma * X_hat + self.beta''')
LIBRARY = {
    "library_2": {"batch_norm": BATCH_NORM_LAYER_NORM},
    "library_3": {"batch_norm": BATCH_NORM_INSTANCE_NORM},
    "library_4": {"batch_norm": BATCH_NORM_ALIAS},
    "library_module_2": {"batchnorm_module": MODULE_OPERATOR},
    "library_module_3": {"batchnorm_module": MODULE_GROUP_NORM},
}

WRONG = {
    "wrong_a": {"batch_norm": BATCH_NORM_UNBIASED, "build_net": BUILD_NET_AFTER_RELU},
    "wrong_b": {"batchnorm_module": MODULE_PARAMETERS, "largest_usable_lr": LAST_NOT_BEST},
    "library": {"batch_norm": BATCH_NORM_LIBRARY},
    "library_module": {"batchnorm_module": MODULE_LIBRARY},
    **LIBRARY,
}
REFUSED = {"library": {"test_batch_norm": "F.batch_norm", "test_batchnorm_module": "F.batch_norm"},
           "library_module": {"test_batchnorm_module": "torch.batch_norm"},
           "library_2": {"test_batch_norm": "F.layer_norm (the same as F.batch_norm)"},
           "library_3": {"test_batch_norm": "F.instance_norm (the same as F.batch_norm)"},
           "library_4": {"test_batch_norm": "F.batch_norm"},
           "library_module_2": {"test_batchnorm_module": "aten::native_batch_norm (it computes F.batch_norm)"},
           "library_module_3": {"test_batchnorm_module": "F.group_norm (the same as F.batch_norm)"}}


@pytest.mark.slow
def test_chapter_09_autograde(tmp_path, data_env):
    check_chapter(ASSIGNMENT)
    scores = grade_submissions(tmp_path, ASSIGNMENT, WRONG, GRADING_ENV)
    all_tests = set().union(*TESTS_OF.values())
    for student, answers in WRONG.items():
        assert set(scores[student]) == all_tests, sorted(scores[student])
        broken = set().union(*(TESTS_OF[answer] for answer in answers))
        for test, (got, most) in scores[student].items():
            expected = 0 if test in broken else most
            assert got == expected, f"{student}: {test} scored {got}/{most}, expected {expected}"
    for student, refused in REFUSED.items():
        assert_refused(tmp_path, ASSIGNMENT, student, refused)
