"""Tests of the simulator's rule-based replies (rtwidget.server.responder)."""

from __future__ import annotations

import re

import pytest

from rtwidget.server.responder import CONNECT_HINT, reply, word_limit


def _sentences(text: str) -> int:
    return len([s for s in re.split(r"(?<=[.!?])\s+", text.strip()) if s])


def test_greeting_is_returned() -> None:
    """A greeting gets a greeting back that introduces the simulator."""
    answer = reply("Hi there!")
    assert answer.startswith("Hello")
    assert "simulator" in answer


def test_user_name_is_greeted() -> None:
    """Saying "my name is X" gets X greeted by name, as in the recorded turn ("Hello, Marcelo!")."""
    assert reply("Hello, my name is marcelo.").startswith("Hello, Marcelo!")


@pytest.mark.parametrize("text", ["help", "What are you?", "who are you", "Is this a simulator?"])
def test_help_explains_how_to_connect_a_real_model(text: str) -> None:
    """Asking what it is explains the local simulator and how to reach a real model."""
    answer = reply(text)
    assert "simulator" in answer
    assert "OPENAI_API_KEY" in answer
    assert CONNECT_HINT in answer


def test_statement_is_quoted_verbatim() -> None:
    """A statement comes back quoted in the user's own words, pronouns untouched."""
    assert '"I like my red bicycle"' in reply("I like my red bicycle.")
    assert '"Tell me a short story"' in reply("Tell me a short story.")


def test_question_is_acknowledged() -> None:
    """A question is quoted back and answered honestly."""
    answer = reply("Why is the sky blue?")
    assert '"Why is the sky blue"' in answer
    assert "?" in answer


def test_time_dependent_questions_are_declined() -> None:
    """Questions about the time or the weather are declined: no clock, no internet."""
    for text in ("What time is it?", "What's the weather today?"):
        assert "can't know" in reply(text)


def test_arithmetic_is_answered() -> None:
    """Simple arithmetic is computed."""
    assert reply("What is 12 times 3?") == "12 times 3 is 36."
    assert reply("what's 7 / 2") == "7 divided by 2 is 3.5."
    assert "undefined" in reply("1 / 0")


def test_empty_input_prompts() -> None:
    """Empty input invites the user on the first turn and asks again later."""
    assert "help" in reply("", turn=0)
    assert "didn't catch" in reply("   ", turn=3)


def test_long_input_is_summarised() -> None:
    """Very long input is counted and cut, keeping the reply short."""
    answer = reply(" ".join(f"word{i}" for i in range(200)))
    assert "200 words" in answer
    assert len(answer.split()) < 30


def test_audio_description_is_acknowledged() -> None:
    """A transcript placeholder for unrecognised audio is answered honestly."""
    answer = reply("(2.3 seconds of speech, about 6 words)")
    assert "2.3 seconds of speech" in answer
    assert "OPENAI_API_KEY" in answer


def test_tool_output_is_used() -> None:
    """After a tool call the reply reports the tool's output, flattened from JSON."""
    answer = reply(
        "weather in Paris?", tool_output='{"temperature_c": 21, "sky": "sunny"}', tool_name="get_weather"
    )
    assert answer == "The get_weather tool says: temperature c 21, sky sunny."
    assert reply("", tool_output="42").endswith("says: 42.")
    assert "returned nothing" in reply("x", tool_output="", tool_name="t")


@pytest.mark.parametrize(
    ("instructions", "limit"),
    [
        ("Reply in two or three words.", 3),
        ("Reply in a few words.", 5),
        ("Answer in 4 words, always.", 4),
        ("Be brief.", 16),
        ("You are a helpful, witty, and friendly AI.", None),
        (None, None),
    ],
)
def test_word_limit_is_read_from_instructions(instructions: str | None, limit: int | None) -> None:
    """Brevity instructions (as in the recordings) become a word limit."""
    assert word_limit(instructions) == limit


@pytest.mark.parametrize(
    "text",
    [
        "",
        "hi",
        "Hello, my name is Ada",
        "help",
        "I like trains",
        "Why?",
        "What time is it?",
        "2 + 2",
        "x " * 80,
    ],
)
def test_replies_honour_the_word_limit(text: str) -> None:
    """Under "Reply in two or three words." every reply has at most three words and ends a sentence."""
    answer = reply(text, instructions="Reply in two or three words.")
    assert 1 <= len(answer.split()) <= 3
    assert answer[-1] in ".!?"


@pytest.mark.parametrize(
    "text", ["", "hi", "help", "I like trains and my dog", "Why is the sky blue?", "thanks", "bye", "x " * 80]
)
def test_replies_are_short(text: str) -> None:
    """Every reply is one to three sentences."""
    assert 1 <= _sentences(reply(text)) <= 3


def test_same_input_same_reply_and_turn_varies_phrasing() -> None:
    """Replies are deterministic; the turn number only picks among phrasings."""
    assert reply("I like trains", turn=1) == reply("I like trains", turn=1)
    assert reply("I like trains", turn=0) != reply("I like trains", turn=1)


def test_name_from_instructions_is_used() -> None:
    """With "Your name is X" in the instructions the simulator introduces itself as X."""
    assert "I'm Robo" in reply("hello", instructions="Your name is Robo.")


def test_say_and_repeat_are_followed() -> None:
    """Saying "say X" or "repeat after me: X" gets X back (just X when asked for few words)."""
    assert reply("Say hello world") == "Sure! Hello world."
    assert reply('Repeat after me: "testing, one, two"!') == "Sure! Testing, one, two."
    assert reply("say good night", instructions="Reply in a few words.") == "Good night."


def test_counting_is_followed() -> None:
    """Asking to count to N counts in words, capped at twenty."""
    assert reply("Can you count to five?") == "One, two, three, four, five."
    assert reply("count to 99").endswith("twenty.")
