"""The model to bytes and back with skops: same answers, metadata inside, untrusted types refused."""

from __future__ import annotations

import numpy as np
import pytest
import skops.io as sio

from router.learning import ModelFormatError, decide, dumps, loads, metadata, train
from tests.router.learning_data import examples, table

TABLE = table()


class Smuggled:
    """A type no model file may hold."""

    def __init__(self) -> None:
        self.payload = "x"


@pytest.fixture(scope="module")
def model():
    return train(examples(120), TABLE, version="7")


@pytest.mark.parametrize("text", ["aspal retak", "tumpukan sampah bau", "air keruh pipa bocor", "halo"],
                         ids=["roads", "waste", "water", "nothing"])
def test_round_trip_same_answer(model, text: str) -> None:
    again = loads(dumps(model), TABLE)
    assert decide(text, TABLE, again).to_dict() == decide(text, TABLE, model).to_dict()
    tokens = TABLE.normalizer.tokens(text)
    assert np.allclose(again.probabilities(tokens, TABLE.route(text)), model.probabilities(tokens, TABLE.route(text)))


def test_metadata_inside(model) -> None:
    found = metadata(dumps(model))
    assert found["version"] == "7" and found["examples"] == 120
    assert found["threshold"] == model.threshold and "cv" in found
    assert dumps(model)[:2] == b"PK"  # a skops zip, not a pickle


@pytest.mark.parametrize(("data", "message"), [
    (sio.dumps({"format": 1, "evil": Smuggled()}), "untrusted types.*Smuggled"),
    (b"\x80\x04\x95not a zip", "not a skops model file"),
    (sio.dumps({"format": 99}), "not a Sambat router model"),
    (sio.dumps({"format": 1, "version": "1"}), "not a complete Sambat router model"),
], ids=["untrusted-type", "pickle-bytes", "other-format", "incomplete"])
def test_refused(data: bytes, message: str) -> None:
    with pytest.raises(ModelFormatError, match=message):
        loads(data, TABLE)
