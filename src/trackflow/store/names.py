"""Friendly generated run names, like MLflow's "bright-owl-412"."""

from __future__ import annotations

import random

_ADJECTIVES = (
    "able agile amber ancient bold brave bright calm clever crisp curious daring eager "
    "fancy gentle glad golden grand happy honest jolly keen kind lively lucky merry "
    "mighty nimble noble patient polite proud quick quiet rare shy silent smart snappy "
    "steady sunny swift tidy vivid warm wise witty zesty"
).split()
_NOUNS = (
    "ant bat bear bee bird carp cat colt crab crow deer dog dove duck eel elk fawn finch "
    "fish fox frog goat gull hare hawk hen hog jay koala lark lion lynx mole moth mouse "
    "newt owl ox panda pig ram robin seal shark slug snail stag swan toad trout wolf wren"
).split()


def generate_run_name(rng: random.Random | None = None) -> str:
    pick = rng or random
    return f"{pick.choice(_ADJECTIVES)}-{pick.choice(_NOUNS)}-{pick.randint(100, 999)}"
