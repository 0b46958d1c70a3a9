"""The script behind docs/benchmarks.md's "convolution and max pooling over whole reviews" figure (weighed,
not kept in the registry).

Johnson & Zhang's recipe for a from-scratch text CNN (NAACL 2015): every review whole, word-trigram features,
the strongest of each feature anywhere in the review. Here: embedding -> embedding dropout -> a masked
Conv1D over 3 words with ReLU -> max over the real steps -> dropout -> one sigmoid unit, trained by the
train stage's `fit` (Adam, clipping, early stopping) on its length batches with params.yaml's `train`
settings, `embedding_dim` and `embedding_dropout` given here. Run from a project root after
`dvc repro tokenize@imdb` (in a copy with `datasets.imdb.tokenize.max_len` 1024: whole reviews but the
longest 1%):

    PYTHONPATH=. python docs/results/pooled_cnn.py 256 128 0.2

Arguments: filters, embedding width, embedding dropout.
"""

import sys

import keras
from keras import layers
from scoring import fit_and_score

from stages.data import Paths, read_lines
from stages.params import load_params
from stages.registry import MaskedConv1D, MaskedGlobalMax


def main() -> None:
    filters, width, embedding_dropout = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    params, tokenized = load_params(), Paths("imdb").tokenized
    settings = params.train
    vocab_size = len(read_lines(tokenized / "vocab.txt"))

    def build() -> keras.Model:
        inputs = keras.Input(shape=(None,), dtype="int32")
        x = layers.Embedding(vocab_size, width, mask_zero=True)(inputs)
        x = layers.SpatialDropout1D(embedding_dropout)(x)
        x = MaskedConv1D(filters, 3, activation="relu")(x)
        x = layers.Dropout(0.5)(MaskedGlobalMax()(x))
        return keras.Model(inputs, layers.Dense(1, activation="sigmoid")(x))

    fit_and_score(build, settings, "pooled_cnn")


if __name__ == "__main__":
    main()
