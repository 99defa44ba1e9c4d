"""Multi-voice recipe, stage V1: the training text (a-z, apostrophe, spaces; one sentence a line).

Sources, all public domain and offline:
  * the demo's Treasury of David training sentences (tools/demo/data/train.txt.gz);
  * the King James Bible, from Debian's `bible-kjv` (`bible gen1:1-rev22:21`), cut at
    punctuation into 3-20 word pieces;
  * generated lines: numbers spoken as words (cardinals, years, digit strings, times, money),
    short commands and names in short carrier sentences.
Every sentence used by any test (the demo's dev/test/eval sentences, the real-speech dev
transcripts in tools/demo/data/real_dev.txt) is removed, as is any line that contains one.

    python tools/demo/voices_text.py --out exp/demo/voices/text.txt
"""
from __future__ import annotations

import argparse
import gzip
import os
import random
import re
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data")

ONES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
        "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
        "eighteen", "nineteen"]
TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]

FIRST_NAMES = """james mary john patricia robert jennifer michael linda william elizabeth david
barbara richard susan joseph jessica thomas sarah charles karen christopher nancy daniel lisa
matthew betty anthony margaret mark sandra donald ashley steven kimberly paul emily andrew donna
joshua michelle kenneth carol kevin amanda brian melissa george deborah timothy stephanie ronald
rebecca edward sharon jason laura jeffrey cynthia ryan kathleen jacob amy gary angela nicholas
anna eric ruth jonathan brenda stephen pamela larry nicole justin katherine scott samantha
frank christine benjamin emma gregory catherine samuel helen raymond debra patrick rachel
alexander carolyn jack janet dennis maria jerry heather tyler diane aaron julie henry joyce
peter victoria walter kelly harold christina oliver olivia noah sophia liam ava lucas mia""".split()
LAST_NAMES = """smith johnson williams brown jones garcia miller davis rodriguez martinez
hernandez lopez gonzalez wilson anderson thomas taylor moore jackson martin lee perez thompson
white harris sanchez clark ramirez lewis robinson walker young allen king wright scott torres
nguyen hill flores green adams nelson baker hall rivera campbell mitchell carter roberts gomez
phillips evans turner diaz parker cruz edwards collins reyes stewart morris morales murphy cook
rogers gutierrez ortiz morgan cooper peterson bailey reed kelly howard ramos kim cox ward
richardson watson brooks chavez wood bennett gray mendoza ruiz hughes price alvarez castillo
sanders patel myers long ross foster jimenez""".split()
CITIES = """london paris boston chicago denver seattle dallas houston phoenix atlanta miami
toronto dublin berlin madrid rome vienna sydney tokyo delhi cairo lagos lima oslo""".split()

COMMANDS = """stop | start | pause | resume | cancel | yes | no | okay | help | repeat that please
turn on the lights | turn off the lights | dim the lights in the kitchen | open the door
close the window | lock the front door | play some music | play the next song | skip this track
volume up | volume down | mute the sound | what time is it | what is the weather today
will it rain tomorrow | set an alarm | call home | send a message | read my messages
take a picture | show me the map | navigate to the nearest station | how far is the airport
add milk to the shopping list | remind me to buy bread | what is on my calendar today
cancel my next meeting | turn up the heat | turn down the air conditioning | open the garage
start the car | find a restaurant nearby | book a table for two | check my email
go back | go home | scroll down | scroll up | zoom in | zoom out | save the file | delete it
undo that | select all | copy this | paste it here | print the document | shut down the computer
restart the system | connect to the network | switch to the camera | answer the phone
hang up | call the office | leave a voice mail | what did you say | say that again
move up | move down | move left | move right | turn around | walk slowly | run faster
pick it up | put it down | wait here | follow me | come back later | be quiet please""".split("|")
CARRIERS = ["my name is {}", "please call {}", "this is {} speaking", "send it to {}",
            "{} will be late today", "ask {} about it", "have you seen {}", "{} lives in {}",
            "we met {} in {}", "{} is flying to {} on monday", "tell {} i said hello"]
DAYS = "monday tuesday wednesday thursday friday saturday sunday".split()
MONTHS = ("january february march april may june july august september october november "
          "december").split()


def number_words(n: int) -> str:
    """Cardinal in words, 0 <= n < 10**9: 2934 -> 'two thousand nine hundred thirty four'."""
    if n < 20:
        return ONES[n]
    if n < 100:
        return TENS[n // 10] + ("" if n % 10 == 0 else " " + ONES[n % 10])
    if n < 1000:
        rest = n % 100
        return ONES[n // 100] + " hundred" + ("" if rest == 0 else
                                              random.choice([" ", " and "]) + number_words(rest))
    for size, name in ((10**6, "million"), (1000, "thousand")):
        if n >= size:
            rest = n % size
            return number_words(n // size) + " " + name + \
                ("" if rest == 0 else " " + number_words(rest))
    raise ValueError(n)


def year_words(y: int) -> str:
    """1984 -> 'nineteen eighty four', 2005 -> 'two thousand five', 1900 -> 'nineteen hundred'."""
    if 2000 <= y < 2010:
        return number_words(y)
    hi, lo = divmod(y, 100)
    if lo == 0:
        return number_words(hi) + " hundred"
    return number_words(hi) + " " + (("oh " + ONES[lo]) if lo < 10 else number_words(lo))


def generated_lines(rng: random.Random, count: int) -> list[str]:
    lines = []
    digit_words = ONES[:10] + ["oh"]
    for _ in range(count):
        kind = rng.randrange(9)
        if kind == 0:
            lines.append(number_words(rng.choice([rng.randrange(100), rng.randrange(1000),
                                                  rng.randrange(10**6)])))
        elif kind == 1:
            lines.append(" ".join(rng.choice(digit_words) for _ in range(rng.randint(3, 10))))
        elif kind == 2:
            lines.append(f"in {year_words(rng.randint(1500, 2030))}")
        elif kind == 3:
            lines.append(f"{rng.choice(DAYS)} the {number_words(rng.randint(1, 28))}"
                         f"{'' if rng.random() < 0.5 else ' of ' + rng.choice(MONTHS)}")
        elif kind == 4:
            lines.append(f"it costs {number_words(rng.randint(1, 999))} dollars"
                         + (f" and {number_words(rng.randint(1, 99))} cents"
                            if rng.random() < 0.5 else ""))
        elif kind == 5:
            lines.append(f"at {number_words(rng.randint(1, 12))} "
                         + rng.choice(["o'clock", "thirty", "fifteen", "forty five",
                                       "in the morning", "p m", "a m"]))
        elif kind == 6:
            lines.append(rng.choice(COMMANDS).strip())
        elif kind == 7:
            command = rng.choice(COMMANDS).strip()
            lines.append(f"{command} {rng.choice(['now', 'please', 'again', 'for me'])}")
        else:
            name = rng.choice(FIRST_NAMES) + ("" if rng.random() < 0.4
                                              else " " + rng.choice(LAST_NAMES))
            carrier = rng.choice(CARRIERS)
            lines.append(carrier.format(name, rng.choice(CITIES)) if carrier.count("{}") == 2
                         else carrier.format(name))
    return lines


def normalise(text: str) -> str:
    text = text.lower().replace("\u2019", "'")
    text = re.sub(r"[^a-z' ]+", " ", text)
    words = [w.strip("'") for w in text.split()]
    return " ".join(w for w in words if w)


def kjv_pieces() -> list[str]:
    out = subprocess.run(["bible", "-l10000", "gen1:1-rev22:21"], check=True,
                         capture_output=True, text=True).stdout
    pieces = []
    for line in out.splitlines():
        line = re.sub(r"^\s*\d+\s+", "", line.strip())
        if not line or re.fullmatch(r"[A-Za-z0-9 ]+ \d+", line):
            continue  # blank lines and chapter headings ("Genesis 1")
        current = []
        for clause in re.split(r"[;:.?!]", line):
            words = normalise(clause).split()
            if len(current) + len(words) > 20 and len(current) >= 3:
                pieces.append(" ".join(current))
                current = []
            current.extend(words[:20])
        if len(current) >= 3:
            pieces.append(" ".join(current))
    return pieces


def read_sentences(path: str) -> list[str]:
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as f:
        return [line.rstrip("\n").split(" ", 1)[1] for line in f if line.strip()]


def held_out_sentences() -> set[str]:
    held = set()
    for name in ("dev.txt", "test.txt", "eval.txt", "real_dev.txt"):
        held.update(normalise(s) for s in read_sentences(os.path.join(DATA, name)))
    return held


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="exp/demo/voices/text.txt")
    parser.add_argument("--generated", type=int, default=12000, help="generated lines")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    random.seed(args.seed)
    rng = random.Random(args.seed)
    held = held_out_sentences()
    padded_held = [f" {h} " for h in held]
    sources = {"treasury": read_sentences(os.path.join(DATA, "train.txt.gz")),
               "kjv": kjv_pieces(), "generated": generated_lines(rng, args.generated)}
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    seen = set()
    counts = {}
    with open(args.out, "w", encoding="utf-8") as f:
        for source, lines in sources.items():
            kept = 0
            for line in lines:
                line = normalise(line)
                padded = f" {line} "
                if not line or line in seen or any(h in padded for h in padded_held):
                    continue
                seen.add(line)
                f.write(f"{source} {line}\n")
                kept += 1
            counts[source] = kept
    print(f"{args.out}: {counts}")


if __name__ == "__main__":
    main()
