"""Chapter 1 (tensors and data): course check (solution, student version, mutants), then real nbgrader autograde of
wrong answers."""
import pytest

from tests.support.chapter_grading import answer, assert_refused, grade_chapter

ASSIGNMENT = "01-tensors"
TESTS_OF = {  # answer cell -> the test cell that grades it
    "counting_matrix": "test_counting_matrix",
    "crop_center": "test_crop_center",
    "pairwise_sq_distances": "test_pairwise_sq_distances",
    "accumulate_": "test_accumulate_",
    "preprocess": "test_preprocess",
}


COUNTING = "counting_matrix(rows, cols, dtype=torch.float32)"
CROP = "crop_center(image, size)"
PAIRWISE = "pairwise_sq_distances(A, B)"
ACCUMULATE = "accumulate_(total, x)"
PREPROCESS = "preprocess(frame, target)"
CROP_START = "top = (image.shape[-2] - size) // 2\nleft = (image.shape[-1] - size) // 2\n"
PRE_START = "inputs = frame.drop(columns=[target])\n"
PRE_END = ("X = torch.tensor(inputs.to_numpy(dtype=np.float32))\n"
           "return X, torch.tensor(frame[target].to_numpy(dtype=np.float32))")

# Plausible mistakes; each submission leaves some tasks right, to show that only the broken task loses points.
WRONG = {
    "wrong_a": {
        "counting_matrix": answer(COUNTING, "return torch.arange(1, rows * cols + 1, dtype=dtype).reshape(rows, cols)"),
        "pairwise_sq_distances": answer(PAIRWISE, "return ((A[:, None, :] - B[None, :, :]) ** 2).sum(dim=1)"),
        "preprocess": answer(PREPROCESS, PRE_START + "inputs = pd.get_dummies(inputs.fillna(0), dummy_na=True)\n" + PRE_END),
        # centre minus half the size: one row off for an even image and an odd crop
        "crop_center": answer(CROP, "top = image.shape[-2] // 2 - size // 2\nleft = image.shape[-1] // 2 - size // 2\n"
                                    "return image[..., top:top + size, left:left + size]"),
    },
    "wrong_b": {
        "crop_center": answer(CROP, CROP_START + "return image[top:top + size, left:left + size]"),
        "accumulate_": answer(ACCUMULATE, "total = total + x\nreturn total"),
        "preprocess": answer(PREPROCESS, PRE_START + "inputs = inputs.fillna(inputs.mean(numeric_only=True))\n"
                          "inputs = pd.get_dummies(inputs)\n" + PRE_END),
    },
    "wrong_c": {
        "counting_matrix": answer(COUNTING, "return torch.arange(rows * cols, dtype=dtype).reshape(cols, rows).T"),
        "crop_center": answer(CROP, CROP_START + "return image[..., top:top + size - 1, left:left + size - 1]"),
        "pairwise_sq_distances": answer(PAIRWISE, "return torch.cdist(A, B)"),
        "accumulate_": answer(ACCUMULATE, "return total + x"),
        "preprocess": answer(PREPROCESS, "frame.fillna(frame.mean(numeric_only=True), inplace=True)\n" + PRE_START
                          + "inputs = pd.get_dummies(inputs, dummy_na=True)\n" + PRE_END),
    },
}
# "Use broadcasting": library distance routines, each right in value, lose the task's points
LIBRARY = {
    "library_1": {"pairwise_sq_distances": answer(PAIRWISE, "return torch.cdist(A, B) ** 2")},
    "library_2": {"pairwise_sq_distances": answer(
        PAIRWISE, "return torch.nn.functional.pairwise_distance(A[:, None, :], B[None, :, :], eps=0.0) ** 2")},
    # bound under another name before the answer runs
    "library_3": {"pairwise_sq_distances": "distances = torch.cdist\n" + answer(
        PAIRWISE, "return distances(A, B, compute_mode='use_mm_for_euclid_dist') ** 2")},
    "library_4": {"pairwise_sq_distances": answer(PAIRWISE, "return torch.ops.aten._euclidean_dist(A, B) ** 2")},
}
REFUSED = {"library_1": "torch.cdist", "library_2": "F.pairwise_distance",
           "library_3": "torch.cdist", "library_4": "aten::_euclidean_dist (it computes torch.cdist)"}


@pytest.mark.slow
def test_chapter_01_autograde(tmp_path):
    grade_chapter(tmp_path, ASSIGNMENT, TESTS_OF, {**WRONG, **LIBRARY})
    for student, name in REFUSED.items():
        assert_refused(tmp_path, ASSIGNMENT, student, {"test_pairwise_sq_distances": name})
