"""The script behind docs/benchmarks.md's "region embeddings (seq-CNN)" figures: the first network here past
0.90 and the TF-IDF row, not yet in the registry.

Johnson & Zhang's seq-CNN (NAACL 2015) convolves one-hot words: a region of 3 words (previous, this, next)
maps to the sum of one learned vector per (position in the region, word), plus a bias, through a ReLU; the
review is the maximum of each feature over its real steps, then dropout and one sigmoid unit. Without an
embedding in between, a region's vector is not limited to the embedding's rank: 3 x `features` values per
word. Trained by the train stage's `fit` (Adam, clipping, early stopping) on its length batches with
params.yaml's `train` settings but the learning rate given here. Run from a project root after
`dvc repro tokenize@imdb` (0.9047 with the default `max_len` 256; 0.9100 in a copy with `max_len` 1024):

    PYTHONPATH=. python docs/results/region_cnn.py 500 0.5 0.001

Arguments: region features, dropout after pooling, Adam's learning rate.
"""

import sys

import keras
from keras import layers, ops
from pooled_cnn import MaskedGlobalMax
from scoring import fit_and_score

from stages.data import Paths, read_lines
from stages.params import load_params


class RegionEmbedding(layers.Layer):
    """A convolution over one-hot words: each step's region (previous, this, next word) is the sum of one
    learned vector per (offset, word), plus a bias. Padding contributes nothing."""

    def __init__(self, vocab_size: int, features: int, **kwargs):
        super().__init__(**kwargs)
        self.features = features
        self.table = layers.Embedding(vocab_size, 3 * features)

    def build(self, input_shape):
        self.table.build(input_shape)
        self.bias = self.add_weight(shape=(self.features,), initializer="zeros")

    def call(self, ids):
        real = ops.expand_dims(ops.cast(ids > 0, self.compute_dtype), -1)
        v = self.table(ids) * real
        f = self.features
        before = ops.pad(v[:, :-1, :f], [[0, 0], [1, 0], [0, 0]])  # the previous word's vector for offset -1
        here = v[:, :, f : 2 * f]
        after = ops.pad(v[:, 1:, 2 * f :], [[0, 0], [0, 1], [0, 0]])  # the next word's for offset +1
        return ops.relu(before + here + after + self.bias)

    def compute_mask(self, ids, mask=None):
        return ids > 0


def main() -> None:
    features, dropout, lr = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
    params, tokenized = load_params(), Paths("imdb").tokenized
    settings = params.train.model_copy(update={"learning_rate": lr})
    vocab_size = len(read_lines(tokenized / "vocab.txt"))

    def build() -> keras.Model:
        inputs = keras.Input(shape=(None,), dtype="int32")
        x = RegionEmbedding(vocab_size, features)(inputs)
        x = layers.Dropout(dropout)(MaskedGlobalMax()(x))
        return keras.Model(inputs, layers.Dense(1, activation="sigmoid")(x))

    fit_and_score(build, settings, "region_cnn")


if __name__ == "__main__":
    main()
