"""Chapter 6 (optimisation and hyperparameters): real nbgrader autograde of the solution, the student
version and wrong answers."""
import pytest

from tests.support.chapter_grading import answer, grade_chapter

ASSIGNMENT = "06-optimisation"
TESTS_OF = {  # answer cell -> the test cell that grades it
    "adam_step": "test_adam_step",
    "mean_confidence": "test_mean_confidence",
    "steps_per_epoch": "test_steps_per_epoch",
    "summarize": "test_summarize",
}
GRADING_ENV = {"OMP_NUM_THREADS": "1"}  # one thread per kernel (see test_chapter_05)

ADAM = "adam_step(w, g, m, v, t, lr=0.001, betas=(0.9, 0.999), eps=1e-8)"
SUMMARIZE_BODY = '''
rows = {}
for name, history in histories.items():
    accuracy = list(history["validation accuracy"])
    rows[name] = {"final validation accuracy": accuracy[-1], "best validation accuracy": max(accuracy),
                  "best epoch": accuracy.index(max(accuracy)), "train steps": history["train steps"][-1],
                  "time": TIME}
return pd.DataFrame.from_dict(rows, orient="index")
'''

WRONG = {
    "wrong_a": {
        # no bias correction: the first steps are far too small
        "adam_step": answer(ADAM, "beta1, beta2 = betas\nm = beta1 * m + (1 - beta1) * g\n"
                            "v = beta2 * v + (1 - beta2) * g * g\nreturn w - lr * m / (v.sqrt() + eps), m, v"),
        # softmax over the samples instead of the classes
        "mean_confidence": answer("mean_confidence(logits)", "logits = torch.as_tensor(logits, dtype=torch.float32)\n"
                                  "return torch.softmax(logits, dim=0).max(dim=1).values.mean().item()"),
    },
    "wrong_b": {
        # eps inside the square root
        "adam_step": answer(ADAM, "beta1, beta2 = betas\nm = beta1 * m + (1 - beta1) * g\n"
                            "v = beta2 * v + (1 - beta2) * g * g\n"
                            "w = w - lr * (m / (1 - beta1 ** t)) / (v / (1 - beta2 ** t) + eps).sqrt()\nreturn w, m, v"),
        # drops the smaller last minibatch
        "steps_per_epoch": answer("steps_per_epoch(n_samples, batch_size)", "return n_samples // batch_size"),
        # adds up the cumulative times instead of taking the last one
        "summarize": answer("summarize(histories)", SUMMARIZE_BODY.replace("TIME", 'sum(history["time"])')),
    },
}


@pytest.mark.slow
def test_chapter_06_autograde(tmp_path, data_env):
    grade_chapter(tmp_path, ASSIGNMENT, TESTS_OF, WRONG, env=GRADING_ENV)
