"""``lineagectl help TOPIC`` tells what is true: every exit status, option and format it names exists."""

from __future__ import annotations

import re

import pytest

from lineagectl.cli.globals import GLOBAL_OPTIONS
from lineagectl.cli.help_topics import TOPICS
from lineagectl.cli.render import RENDERERS
from lineagectl.errors import ExitStatus


def test_exit_codes_are_the_exit_status_table(cli):
    text = cli("help", "exit-codes").stdout
    assert sorted(int(code) for code in re.findall(r"^\s+(\d+)\s", text, re.M)) == sorted(map(int, ExitStatus))


def test_environment_names_every_global_option(cli):
    text = cli("help", "environment").stdout
    assert all(option in text for option in GLOBAL_OPTIONS)


def test_formats_are_the_registered_renderers(cli):
    text = cli("help", "formats").stdout
    named = set(re.findall(r"^\s+([a-z]+(?:, [a-z]+)*)\s{2,}", text, re.M))
    assert {f for group in named for f in group.split(", ")} == set(RENDERERS)


@pytest.mark.parametrize("topic", sorted(TOPICS))
def test_every_topic_prints(cli, topic):
    result = cli("help", topic.upper())
    assert result.exit_code == 0 and result.stdout.strip()


def test_an_unknown_topic_lists_the_topics(cli):
    result = cli("help", "nope")
    assert result.exit_code == 2 and all(topic in result.stderr for topic in TOPICS)
