"""The simulator's "model": short, deterministic, rule-based replies that make a good demo.

Rules, first match wins: a tool result is reported ("The get_weather tool says: ..."); empty input gets
a prompt; a transcript placeholder from :mod:`rtwidget.server.transcribe` ("(2.1 seconds of speech, ...)")
is acknowledged honestly; long input is summarised; "say X" / "repeat after me: X" say X and "count to N"
counts; "help" / "what are you" explain the simulator and how to connect a real model; greetings greet
back (by name when the user gives one); thanks, goodbyes, "how are you", simple arithmetic and questions
about the time or the world get fitting answers; anything else is reflected back with the pronouns turned
around. Instructions asking for brevity ("be brief", "answer in 5 words", "Reply in two or three words.")
shorten the reply. Same input, same output: ``turn`` only picks among phrasings.
"""

from __future__ import annotations

import json
import re

__all__ = ["CONNECT_HINT", "reply", "word_limit"]

CONNECT_HINT = "To talk to a real model, set OPENAI_API_KEY or pass url= or config= when you connect."
"""How to leave the simulator, quoted in the help reply."""

_LONG_INPUT_WORDS = 40
_QUOTE_WORDS = 12
_TOOL_OUTPUT_WORDS = 24
_SHORT_FORM_WORDS = 6
_BRIEF_WORDS = 16

_NUMBER_WORDS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "twelve": 12,
    "fifteen": 15,
    "twenty": 20,
    "a few": 5,
    "a couple of": 3,
    "few": 5,
}
_COUNT_TEXT = (
    "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty"
)
_COUNT_WORDS = _COUNT_TEXT.split()
_NUM = r"(\d+|" + "|".join(sorted(_NUMBER_WORDS, key=len, reverse=True)) + r")"
_LIMIT_RE = re.compile(
    r"\b(?:in|with|using|under|at most|no more than|max(?:imum)?(?: of)?)\s+"
    rf"(?:{_NUM}\s+(?:or|to|-)\s+)?{_NUM}\s+words?\b",
    re.IGNORECASE,
)
_BRIEF_RE = re.compile(
    r"\b(be (?:very )?(?:brief|concise|short|terse)|keep (?:it|answers|replies|responses) (?:brief|short)|"
    r"one sentence|short (?:answers|replies|responses)|briefly|concisely)\b",
    re.IGNORECASE,
)
_NAME_IN_INSTRUCTIONS_RE = re.compile(r"\b[Yy]our name is ([A-Z][\w-]*)")
_USER_NAME_RE = re.compile(
    r"\b(?:my name is|i am called|call me|i'm called)\s+([A-Za-z][\w-]*)", re.IGNORECASE
)
_PLACEHOLDER_RE = re.compile(r"^\((\d+(?:\.\d+)?) seconds? of (speech|audio)[^)]*\)$")
_WORD_RE = re.compile(r"[\w']+")
_ARITH_RE = re.compile(
    r"(-?\d+(?:\.\d+)?)\s*(\+|-|\*|x|/|plus|minus|times|multiplied by|divided by)\s*(-?\d+(?:\.\d+)?)",
    re.IGNORECASE,
)

_GREETINGS = (
    "hi",
    "hello",
    "hey",
    "hiya",
    "howdy",
    "greetings",
    "good morning",
    "good afternoon",
    "good evening",
)
_HELP_RE = re.compile(
    r"\b(help|what are you|who are you|what is this|what's this|what can you do|are you real|"
    r"are you a (?:real )?(?:model|bot|ai|robot)|simulator)\b",
    re.IGNORECASE,
)
_SAY_RE = re.compile(r"^(?:please\s+)?(?:say|repeat after me:?|repeat)\s+(.+?)[.!]?$", re.IGNORECASE)
_COUNT_RE = re.compile(r"\bcount (?:to|up to) (\d+|" + "|".join(_NUMBER_WORDS) + r")\b", re.IGNORECASE)
_MAX_COUNT = 20
_THANKS_RE = re.compile(r"\b(thanks|thank you|cheers)\b", re.IGNORECASE)
_BYE_RE = re.compile(r"\b(bye|goodbye|see you|good night)\b", re.IGNORECASE)
_HOW_ARE_YOU_RE = re.compile(r"\bhow are you\b|\bhow's it going\b|\bhow do you do\b", re.IGNORECASE)
_WORLD_RE = re.compile(
    r"\b(time|date|today|tomorrow|yesterday|weather|news|price|stock|score|latest)\b", re.IGNORECASE
)

# Pronouns turned around when the user's words are reflected back ("I like my cat" -> "you like your cat").
_SWAPS = {
    "i": "you",
    "me": "you",
    "my": "your",
    "mine": "yours",
    "myself": "yourself",
    "am": "are",
    "i'm": "you're",
    "i've": "you've",
    "i'll": "you'll",
    "i'd": "you'd",
    "we": "you",
    "us": "you",
    "our": "your",
    "you": "I",
    "your": "my",
    "yours": "mine",
    "yourself": "myself",
    "you're": "I'm",
    "you've": "I've",
    "you'll": "I'll",
    "are": "are",
}

_STATEMENT_FORMS = (
    "You said: {quote}. I'm the local simulator, so I can only echo it back.",
    "I heard you say {quote}. A real model would have more to add.",
    "Got it: {quote}. I'm just rtwidget's simulator, but I'm listening.",
)
_QUESTION_FORMS = (
    "You asked: {quote}? I'm only the local simulator, so I can't answer that, but a real model could.",
    "Good question: {quote}? The simulator can't look that up; a real model could.",
)


def word_limit(instructions: str | None) -> int | None:
    """Return the reply length in words that ``instructions`` ask for, or ``None`` if they set none.

    "Reply in two or three words." -> 3 (the upper bound), "answer in 5 words" -> 5, "Reply in a few words."
    -> 5, "be brief" / "one sentence" -> 16.
    """
    if not instructions:
        return None
    match = _LIMIT_RE.search(instructions)
    if match:
        return max(1, _number(match.group(2)))
    if _BRIEF_RE.search(instructions):
        return _BRIEF_WORDS
    return None


def reply(
    user_text: str,
    *,
    instructions: str | None = None,
    turn: int = 0,
    tool_output: str | None = None,
    tool_name: str | None = None,
) -> str:
    """Return the simulator's reply to the user's last message: 1 to 3 short sentences.

    Args:
        user_text: the user's last message (text, or the transcript of their audio); may be empty.
        instructions: the session's or response's instructions; brevity requests are honoured.
        turn: number of earlier responses in the session; varies the phrasing deterministically.
        tool_output: the output of the function call this response follows, if any.
        tool_name: the name of that function.
    """
    limit = word_limit(instructions)
    text = " ".join(user_text.split())
    if tool_output is not None:
        full, short = _tool_reply(tool_output, tool_name)
    else:
        full, short = _reply_to(text, instructions or "", turn)
    if limit is None:
        return full
    return _shorten(short if limit <= _SHORT_FORM_WORDS else full, limit)


def _reply_to(text: str, instructions: str, turn: int) -> tuple[str, str]:
    """Return the full reply and a few-word form of it for "reply in N words" instructions."""
    me = _NAME_IN_INSTRUCTIONS_RE.search(instructions)
    self_name = f"I'm {me.group(1)}, rtwidget's local simulator" if me else "I'm rtwidget's local simulator"
    lower = text.lower()
    if not text:
        if turn == 0:
            return f"Hello! {self_name}. Say something, or ask me for help.", "Hello! Say something."
        return "I didn't catch anything. Could you say that again?", "Sorry, say again?"
    placeholder = _PLACEHOLDER_RE.match(text)
    if placeholder:
        seconds = placeholder.group(1)
        return (
            f"I heard {seconds} seconds of {placeholder.group(2)}, but I'm a local simulator and can't "
            f"understand audio. {CONNECT_HINT}",
            f"Heard {seconds} seconds.",
        )
    words = _WORD_RE.findall(text)
    if len(words) > _LONG_INPUT_WORDS:
        quote = _reflect(" ".join(words[:8]))
        return f"That's a lot: {len(words)} words. In short, you said {quote}, and so on.", "That's a lot!"
    say = _SAY_RE.match(text)
    if say:
        echo = say.group(1).strip("\"'“”")
        echo = f"{echo[:1].upper()}{echo[1:]}"
        echo = echo if echo[-1:] in ".!?" else echo + "."
        return f"Sure! {echo}", echo
    count = _COUNT_RE.search(text)
    if count:
        top = min(_MAX_COUNT, max(1, _number(count.group(1))))
        numbers = ", ".join(_COUNT_WORDS[:top])
        return f"{numbers[:1].upper()}{numbers[1:]}.", f"{numbers[:1].upper()}{numbers[1:]}."
    if _HELP_RE.search(text):
        return f"{self_name}, a rule-based stand-in that runs offline. {CONNECT_HINT}", "A local simulator."
    user_name = _USER_NAME_RE.search(text)
    first = lower.lstrip("¡¿ ")
    if user_name:
        name = user_name.group(1).capitalize()
        return f"Hello, {name}! Nice to meet you. {self_name}.", f"Hello, {name}!"
    if any(re.match(rf"{g}\b", first) for g in _GREETINGS):
        return f"Hello! {self_name}. How can I help?", "Hello there!"
    if _THANKS_RE.search(text):
        return "You're welcome!", "You're welcome!"
    if _BYE_RE.search(text):
        return "Goodbye! Thanks for trying rtwidget.", "Goodbye!"
    if _HOW_ARE_YOU_RE.search(text):
        return "I'm running fine, thanks for asking. How are you?", "Fine, thanks!"
    arithmetic = _arithmetic(text)
    if arithmetic is not None:
        return arithmetic
    is_question = text.rstrip().endswith("?") or bool(
        re.match(r"(what|who|where|when|why|how|which|can|could|do|does|is|are|will|would|should)\b", first)
    )
    if is_question and _WORLD_RE.search(text):
        return (
            "I'm a local simulator with no clock or internet, so I can't know that. "
            "A real model with a tool could tell you.",
            "I can't know that.",
        )
    # Inside quotation marks the user's own words stay as they were; turning the pronouns there would
    # misquote them ('You said: "Tell you a story"').
    quote = " ".join(words[:_QUOTE_WORDS]).strip(" .,!?;:")
    if len(words) > _QUOTE_WORDS:
        quote += " and so on"
    if is_question:
        return _QUESTION_FORMS[turn % len(_QUESTION_FORMS)].format(quote=f'"{quote}"'), "Good question!"
    return _STATEMENT_FORMS[turn % len(_STATEMENT_FORMS)].format(
        quote=f'"{quote}"'
    ), f"{quote[:1].upper()}{quote[1:]}."


def _tool_reply(output: str, name: str | None) -> tuple[str, str]:
    summary = _summarize(output)
    who = f"The {name} tool" if name else "The tool"
    if not summary:
        return f"{who} returned nothing.", "Nothing returned."
    return f"{who} says: {summary}.", f"{summary[:1].upper()}{summary[1:]}."


def _summarize(output: str) -> str:
    try:
        value = json.loads(output)
    except ValueError:
        value = output
    text = _flatten(value)
    words = text.split()
    if len(words) > _TOOL_OUTPUT_WORDS:
        text = " ".join(words[:_TOOL_OUTPUT_WORDS]) + " and more"
    return text.rstrip(" .")


def _flatten(value: object) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{str(k).replace('_', ' ')} {_flatten(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(_flatten(v) for v in value)
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return " ".join(str(value).split())


def _reflect(text: str) -> str:
    out = []
    for word in text.split(" "):
        core = word.strip('.,!?;:"')
        swapped = _SWAPS.get(core.lower())
        out.append(word.replace(core, swapped) if swapped and core else word)
    return " ".join(out).strip(" .,!?;:")


def _arithmetic(text: str) -> tuple[str, str] | None:
    match = _ARITH_RE.search(text)
    if not match:
        return None
    a, op, b = float(match.group(1)), match.group(2).lower(), float(match.group(3))
    names = {"+": "plus", "-": "minus", "*": "times", "x": "times", "/": "divided by"}
    word = names.get(op, op.replace("multiplied by", "times"))
    if word == "plus":
        result = a + b
    elif word == "minus":
        result = a - b
    elif word == "times":
        result = a * b
    elif b == 0:
        return "Dividing by zero is undefined, even for a simulator.", "Undefined!"
    else:
        result = a / b
    return f"{_fmt(a)} {word} {_fmt(b)} is {_fmt(result)}.", f"It's {_fmt(result)}."


def _fmt(x: float) -> str:
    if x == int(x) and abs(x) < 1e15:
        return str(int(x))
    return f"{x:.4g}"


def _number(token: str) -> int:
    token = token.lower()
    return int(token) if token.isdigit() else _NUMBER_WORDS.get(token, 5)


def _shorten(answer: str, limit: int) -> str:
    """Keep the first sentence, cut to ``limit`` words, and end it with its punctuation or a period."""
    first = re.split(r"(?<=[.!?])\s+", answer.strip(), maxsplit=1)[0]
    words = first.split()
    if len(words) <= limit:
        return first
    cut = " ".join(words[:limit]).rstrip(",;:")
    return cut if cut[-1:] in ".!?" else cut + "."
