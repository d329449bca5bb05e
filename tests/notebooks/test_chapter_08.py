"""Chapter 8 (numerical stability and initialisation): course check (solution, student version, mutants), then real
nbgrader autograde of wrong answers."""
import pytest

from tests.support.chapter_grading import answer, assert_refused, grade_chapter

ASSIGNMENT = "08-initialisation"
TESTS_OF = {  # answer cell -> the test cell that grades it
    "deep_sigmoid_net": "test_deep_sigmoid_net",
    "layer_grad_norms": "test_layer_grad_norms",
    "layer_stat": "test_layer_stat",
    "xavier_uniform_": "test_xavier_uniform_",
    "init_xavier": "test_init_xavier",
    "count_distinct_rows": "test_count_distinct_rows",
    "kaiming_normal_": "test_kaiming_normal_",
    "clip_grad_norm": "test_clip_grad_norm",
}
GRADING_ENV = {"OMP_NUM_THREADS": "1"}  # one thread per kernel (see test_chapter_05)

XAVIER = "xavier_uniform_(weight, gain=1.0)"
HE = "kaiming_normal_(weight)"
CLIP = "clip_grad_norm(params, max_norm)"

WRONG = {
    "wrong_a": {
        # a sigmoid after the output layer as well
        "deep_sigmoid_net": answer("deep_sigmoid_net(depth, width=64, n_in=784, n_out=10)",
                                   "layers = []\nfor i in range(depth):\n"
                                   "    layers += [nn.Linear(n_in if i == 0 else width, width), nn.Sigmoid()]\n"
                                   "return nn.Sequential(*layers, nn.Linear(width, n_out), nn.Sigmoid())"),
        # gradients are never cleared, so a second call adds to the first
        "layer_grad_norms": answer("layer_grad_norms(net, X, y)",
                                   "nn.functional.cross_entropy(net(X), y).backward()\n"
                                   "return [m.weight.grad.norm().item() for m in net.modules() if isinstance(m, nn.Linear)]"),
        # the variance of the bound instead of the bound: sqrt(3 / ...) is too small
        "xavier_uniform_": answer(XAVIER, "fan_out, fan_in = weight.shape\n"
                                  "with torch.no_grad():\n    weight.uniform_(-gain * math.sqrt(3 / (fan_in + fan_out)), "
                                  "gain * math.sqrt(3 / (fan_in + fan_out)))\nreturn weight"),
        # the variance 2 / fan_in passed where normal_ takes the standard deviation
        "kaiming_normal_": answer(HE, "with torch.no_grad():\n    weight.normal_(0, 2 / weight.shape[1])\nreturn weight"),
        # one norm per parameter: each gradient clipped on its own, so all of them together stay longer than max_norm
        "clip_grad_norm": answer(CLIP, "norms = []\nfor p in params:\n    if p.grad is None:\n        continue\n"
                                       "    norm = float(p.grad.norm())\n    norms.append(norm)\n    if norm > max_norm:\n"
                                       "        p.grad.mul_(max_norm / norm)\nreturn math.sqrt(sum(n ** 2 for n in norms))"),
    },
    "wrong_b": {
        # the library function that Task 7 asks to write (its values are right: only the refusal costs the points)
        "kaiming_normal_": answer(HE, "return nn.init.kaiming_normal_(weight)"),
        # the library function that Task 4 asks to write
        "xavier_uniform_": answer(XAVIER, "return nn.init.xavier_uniform_(weight, gain)"),
        # endswith(stat) also matches 'abs mean' when stat is 'mean', and startswith matches layer 11 for layer 1
        "layer_stat": answer("layer_stat(history, layer, stat='std', phase='train')",
                             "for key in history:\n    if key.startswith(f'{phase} {layer}') and key.endswith(stat):\n"
                             "        return history[key]\nraise KeyError(stat)"),
        # normal instead of uniform, and it forgets the biases
        "init_xavier": answer("init_xavier(net)", "for m in net.modules():\n    if isinstance(m, nn.Linear):\n"
                              "        nn.init.xavier_normal_(m.weight)\nreturn net"),
        # exact equality ignores the tolerance
        "count_distinct_rows": answer("count_distinct_rows(weight, tol=1e-6)",
                                      "return len(torch.unique(weight.detach(), dim=0))"),
        # goes through params twice: given net.parameters() (a generator) the second pass clips nothing
        "clip_grad_norm": answer(CLIP, "total = math.sqrt(sum(float((p.grad ** 2).sum()) for p in params if p.grad is not None))\n"
                                       "for p in params:\n    if p.grad is not None and total > max_norm:\n"
                                       "        p.grad.mul_(max_norm / total)\nreturn total"),
    },
}


# Other library routes to Tasks 4, 7 and 8 (each right in value): an alias bound before the answer runs, another
# nn.init function with the bound or the spread computed by hand, the library function as a default argument;
# for Task 8 torch.nn.utils' clipping, an alias of it, its two halves (norm, then scale), the _foreach kernels
GRADS = "grads = [p.grad for p in params if p.grad is not None]\n"
LIBRARY = {
    # an alias of nn.init bound in the notebook fails Task 7's guarded test as well (the same error)
    "library_2": {"xavier_uniform_": "from torch.nn.init import xavier_uniform_ as library_xavier\n"
                                     + answer(XAVIER, "return library_xavier(weight, gain)"),
                  "kaiming_normal_": answer(HE, "return nn.init.normal_(weight, 0.0, math.sqrt(2 / weight.shape[1]))"),
                  "clip_grad_norm": answer(CLIP, "return float(nn.utils.clip_grad_norm_(params, max_norm))")},
    "library_3": {"xavier_uniform_": answer(XAVIER, "bound = gain * math.sqrt(6 / sum(weight.shape))\n"
                                                    "return nn.init.uniform_(weight, -bound, bound)"),
                  "kaiming_normal_": answer("kaiming_normal_(weight, library=nn.init.kaiming_normal_)",
                                            "return library(weight)"),
                  "clip_grad_norm": "from torch.nn.utils import clip_grad_norm_ as clip_library\n"
                                    + answer(CLIP, "return float(clip_library(params, max_norm))")},
    "library_4": {"xavier_uniform_": answer(XAVIER, "bound = gain * math.sqrt(6 / sum(weight.shape))\n"
                                                    "return nn.init._no_grad_uniform_(weight, -bound, bound)"),
                  "kaiming_normal_": "import torch.nn.init as initialisers\nhe = initialisers.kaiming_normal_\n"
                                     + answer(HE, "return he(weight)"),
                  "clip_grad_norm": answer(CLIP, "params = list(params)\n"
                                                 "total = nn.utils.get_total_norm([p.grad for p in params if p.grad is not None])\n"
                                                 "nn.utils.clip_grads_with_norm_(params, max_norm, total)\nreturn float(total)")},
    "library_5": {"kaiming_normal_": answer(HE, "return nn.init.normal_(weight, 0.0, math.sqrt(2 / weight.shape[1]))"),
                  "clip_grad_norm": answer(CLIP, GRADS + "total = float(torch.stack(torch._foreach_norm(grads)).norm())\n"
                                                 "if total > max_norm:\n    torch._foreach_mul_(grads, max_norm / total)\n"
                                                 "return total")},
}
REFUSED = {
    "wrong_b": {"test_xavier_uniform_": "nn.init.xavier_uniform_", "test_kaiming_normal_": "nn.init.kaiming_normal_"},
    "library_2": {"test_xavier_uniform_": "nn.init.xavier_uniform_", "test_kaiming_normal_": "nn.init.xavier_uniform_",
                  "test_clip_grad_norm": "nn.utils.clip_grad_norm_"},
    "library_3": {"test_xavier_uniform_": "nn.init.uniform_", "test_kaiming_normal_": "nn.init.kaiming_normal_",
                  "test_clip_grad_norm": "nn.utils.clip_grad_norm_"},  # bound as 'clip_library' in the notebook
    "library_4": {"test_xavier_uniform_": "nn.init._no_grad_uniform_", "test_kaiming_normal_": "nn.init.kaiming_normal_",
                  "test_clip_grad_norm": "nn.utils.get_total_norm"},
    "library_5": {"test_kaiming_normal_": "nn.init.normal_", "test_clip_grad_norm": "aten::_foreach_norm (an operator torch.optim uses)"},
}

@pytest.mark.slow
def test_chapter_08_autograde(tmp_path, data_env):
    grade_chapter(tmp_path, ASSIGNMENT, TESTS_OF, {**WRONG, **LIBRARY}, env=GRADING_ENV)
    for student, refused in REFUSED.items():
        assert_refused(tmp_path, ASSIGNMENT, student, refused)
