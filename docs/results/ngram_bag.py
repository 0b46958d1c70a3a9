"""The script behind docs/benchmarks.md's "bag of hashed n-grams" figures (weighed, not kept in the registry).

A fastText-style classifier: the mean embedding of a review's words and hashed word pairs, then one sigmoid
unit; `hybrid` puts it beside a registry network (its embedding, embedding dropout and builder from
params.yaml). Trained by the train stage's `fit` (Adam, clipping, early stopping) on the length batches it
uses, with params.yaml's train settings but for the learning rate and the epochs. Run from a project root
after `dvc repro tokenize@imdb` (in a copy, for another `max_len`):

    PYTHONPATH=. LR=0.005 python docs/results/ngram_bag.py bag 1000003 8 12
    PYTHONPATH=. LR=0.003 python docs/results/ngram_bag.py hybrid 1000003 8 8 gru

Arguments: bag | hybrid, hash buckets, n-gram embedding width, epochs (6), registry network (cnn_rnn);
environment: LR (Adam, 0.001), BAGDROP (dropout on the mean n-gram vector, 0).
"""

import os
import sys

import keras
from keras import layers, ops
from scoring import fit_and_score

from stages.data import Paths, read_lines
from stages.params import architecture_kwargs, classifier_train, load_params
from stages.registry import ARCHITECTURES


class NgramBag(layers.Layer):
    """Mean of the embeddings of every word and every hashed pair of neighbouring words, padding left out."""

    def __init__(self, vocab_size: int, buckets: int, dim: int, **kwargs):
        super().__init__(**kwargs)
        self.vocab_size, self.buckets = vocab_size, buckets
        self.table = layers.Embedding(vocab_size + buckets, dim, name="ngrams")  # words, then pair buckets

    def call(self, ids):
        first, second = ids[:, :-1], ids[:, 1:]
        pairs = self.vocab_size + ops.mod(first * self.vocab_size + second, self.buckets)
        total, count = 0, 0
        for grams, real in ((pairs, (first > 0) & (second > 0)), (ids, ids > 0)):
            real = ops.cast(real, "float32")
            total = total + ops.sum(self.table(grams) * real[..., None], axis=1)
            count = count + ops.sum(real, axis=1)
        return total / ops.maximum(count, 1.0)[:, None]


def main() -> None:
    mode, buckets, dim = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    epochs = int(sys.argv[4]) if len(sys.argv) > 4 else 6
    network = sys.argv[5] if len(sys.argv) > 5 else "cnn_rnn"
    params, tokenized = load_params(), Paths("imdb").tokenized
    settings = classifier_train(params, network).model_copy(
        update={"learning_rate": float(os.environ.get("LR", "0.001")), "epochs": epochs}
    )
    vocab_size = len(read_lines(tokenized / "vocab.txt"))

    def build() -> keras.Model:
        inputs = keras.Input(shape=(None,), dtype="int32")
        features = [NgramBag(vocab_size, buckets, dim)(inputs)]
        if float(os.environ.get("BAGDROP", "0")):
            features = [layers.Dropout(float(os.environ["BAGDROP"]))(features[0])]
        if mode == "hybrid":
            x = layers.Embedding(vocab_size, settings.embedding_dim, mask_zero=True)(inputs)
            x = layers.SpatialDropout1D(settings.embedding_dropout)(x)
            for layer in ARCHITECTURES[network](**architecture_kwargs(params, network)):
                x = layer(x)
            features.append(x)
        joined = features[0] if len(features) == 1 else layers.Concatenate()(features)
        return keras.Model(inputs, layers.Dense(1, activation="sigmoid")(joined))

    fit_and_score(build, settings, f"ngram_bag {mode}")


if __name__ == "__main__":
    main()
