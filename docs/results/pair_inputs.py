"""The script behind docs/benchmarks.md's "hashed word pairs as network inputs" figures (weighed, not kept).

A registry network reads, at every step, the word's embedding and the embedding of the pair (previous
word, word), hashed into a table of `buckets` rows (row 0 is the padding, masked like the words). Both
embeddings get their own SpatialDropout1D. Trained by the train stage's `fit` on its length batches with
params.yaml's settings for that architecture. Run from a project root after `dvc repro tokenize@imdb`
(in a copy with `datasets.imdb.tokenize.max_len` 1024: whole reviews but the longest 1%):

    PYTHONPATH=. python docs/results/pair_inputs.py cnn_rnn 1000003 8 0.6

Arguments: architecture, hash buckets, pair embedding width, pair embedding dropout.
The pair embedding must mask its padding: Keras's Concatenate keeps a step if any input's mask keeps it,
so an unmasked branch unmasks the padding for the whole network.
"""

import sys

import keras
from keras import layers, ops
from scoring import fit_and_score

from stages.data import Paths, read_lines
from stages.params import architecture_kwargs, classifier_train, load_params
from stages.registry import ARCHITECTURES


class PairIds(layers.Layer):
    """The hash bucket (1 to buckets - 1) of each step's (previous word, word) pair; 0 where either is padding."""

    def __init__(self, vocab_size: int, buckets: int, **kwargs):
        super().__init__(**kwargs)
        self.vocab_size, self.buckets = vocab_size, buckets

    def call(self, ids):
        previous = ops.pad(ids[:, :-1], [[0, 0], [1, 0]])
        bucket = 1 + ops.mod(previous * self.vocab_size + ids, self.buckets - 1)
        return ops.where((previous > 0) & (ids > 0), bucket, 0)


def main() -> None:
    arch, buckets, width, pair_dropout = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    params, tokenized = load_params(), Paths("imdb").tokenized
    settings = classifier_train(params, arch)
    vocab_size = len(read_lines(tokenized / "vocab.txt"))

    def build() -> keras.Model:
        inputs = keras.Input(shape=(None,), dtype="int32")
        word_dropout = layers.SpatialDropout1D(settings.embedding_dropout)
        words = word_dropout(layers.Embedding(vocab_size, settings.embedding_dim, mask_zero=True)(inputs))
        pairs = layers.Embedding(buckets, width, mask_zero=True)(PairIds(vocab_size, buckets)(inputs))
        x = layers.Concatenate()([words, layers.SpatialDropout1D(pair_dropout)(pairs)])
        for layer in ARCHITECTURES[arch](**architecture_kwargs(params, arch)):
            x = layer(x)
        return keras.Model(inputs, layers.Dense(1, activation="sigmoid")(x))

    fit_and_score(build, settings, "pair_inputs")


if __name__ == "__main__":
    main()
