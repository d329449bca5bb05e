"""GradingSettings: one home for every grading limit and switch, read from nbgrader_config.py and the
command line alike, and the very traits the sandbox's kernel manager enforces."""
from __future__ import annotations

import argparse
import math

import pytest
from traitlets import TraitError
from traitlets.config import Config

from autograde.config import (
    CELL_TIMEOUT,
    MEMORY_BYTES,
    GradingSettings,
    add_setting_arguments,
    command_settings,
    given_settings,
)
from autograde.errors import CourseError
from autograde.sandbox.manager import SandboxKernelManager, SandboxUnavailable, StrictSandboxKernelManager


def course_config(**sections: dict) -> Config:
    config = Config()
    for section, values in sections.items():
        config[section] = Config(values)
    return config


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_setting_arguments(parser)
    return parser.parse_args(list(argv))


@pytest.mark.parametrize("sections, expected", [
    ({}, {"cell_seconds": CELL_TIMEOUT, "memory_bytes": MEMORY_BYTES, "warm_start": True}),
    ({"Execute": {"timeout": 30}}, {"cell_seconds": 30.0}),  # nbgrader's own setting, as nbgrader autograde reads it
    ({"SandboxKernelManager": {"memory_bytes": 700 << 20, "warm_start": False, "run_tag": "not a setting"}},
     {"memory_bytes": 700 << 20, "warm_start": False}),  # instructors' existing configs keep working
    ({"GradingSettings": {"processes": 64, "cell_seconds": 10}, "Execute": {"timeout": 30}},
     {"processes": 64, "cell_seconds": 10.0}),
    ({"GradingSettings": {"processes": 64}, "SandboxKernelManager": {"processes": 32}},
     {"processes": 32}),  # the kernel manager's own section wins, as traitlets gives it to the manager
])
def test_the_course_config_is_read_from_every_place_an_instructor_sets_it(sections, expected):
    settings = GradingSettings.for_course(course_config(**sections))
    assert {name: getattr(settings, name) for name in expected} == expected


def test_flags_come_from_the_traits_and_win_over_the_config():
    args = parse("--memory-mb", "600", "--output-mb", "0.5", "--max-processes", "9", "--timeout", "7", "--cold-start")
    config = course_config(SandboxKernelManager={"memory_bytes": 700 << 20, "file_bytes": 5 << 20})
    settings = GradingSettings.for_course(config, **given_settings(args))
    assert (settings.memory_bytes, settings.output_bytes, settings.processes, settings.cell_seconds) == (
        600 << 20, 1 << 19, 9, 7.0)
    assert settings.file_bytes == 5 << 20 and settings.warm_start is False  # not given: the config's
    assert given_settings(parse()) == dict.fromkeys(given_settings(args))  # nothing given: every value None


@pytest.mark.parametrize("argv", [["--timeout", "-1"], ["--memory-mb", "0"], ["--notebook-timeout", "0"]])
def test_nonsense_is_refused_with_the_setting_named(argv):
    with pytest.raises(CourseError, match=r"course grade: \w+ must be positive, got -?0?\.?\d*"):
        command_settings(Config(), parse(*argv), "grade")


def test_the_kernel_manager_enforces_the_same_traits_handed_over_once_as_config():
    settings = GradingSettings(memory_bytes=1 << 30, processes=64, warm_start=False)
    km = SandboxKernelManager(config=settings.as_config())
    assert isinstance(km, GradingSettings)
    assert (km.memory_bytes, km.processes, km.warm_start) == (1 << 30, 64, False)
    assert settings.as_config().NotebookClient.timeout == int(CELL_TIMEOUT)  # the per-cell limit is nbclient's
    with pytest.raises(TraitError, match="memory_bytes must be positive"):
        SandboxKernelManager(memory_bytes=0)


def test_the_strict_manager_requires_the_sandbox_whatever_the_settings_say(monkeypatch):
    monkeypatch.setattr("autograde.sandbox.bubblewrap.bwrap_status", lambda: (None, "bwrap hidden by this test"))
    config = GradingSettings(require_sandbox=False).as_config()
    with pytest.raises(SandboxUnavailable, match="bwrap hidden by this test"):
        StrictSandboxKernelManager(config=config).sandbox_usable()
    with pytest.warns(RuntimeWarning, match="SANDBOX OFF"):
        assert SandboxKernelManager(config=config).sandbox_usable() is False


@pytest.mark.parametrize("sections, timeout", [
    ({"GradingSettings": {"cell_seconds": 7.5}}, 8), ({"Execute": {"timeout": 30}}, 30),
    ({"GradingSettings": {"cell_seconds": 7}, "Execute": {"timeout": 30}}, 7)])
def test_nbgrader_autograde_applies_the_cell_limit_where_course_grade_reads_it(sections, timeout):
    from autograde.sandbox.nbgrader_plugin import SandboxExecute

    assert SandboxExecute(config=course_config(**sections)).timeout == timeout
    assert math.ceil(GradingSettings.for_course(course_config(**sections)).cell_seconds) == timeout
