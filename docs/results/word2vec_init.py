"""The script behind docs/benchmarks.md's word2vec figures (weighed, not kept): a registry network trained as
`train@imdb-<arch>` does, but with its embedding starting from word2vec vectors of the train reviews' text.

gensim (skip-gram, the embedding's width, 5 epochs) learns the vectors from the words of the train split's
reviews (labels unused; not the validation or test reviews), scaled to the spread of Keras's default
uniform(-0.05, 0.05) initialiser; words it never saw keep a random start. Run from a project root after
`dvc repro tokenize@imdb`, with gensim importable (it is not a project requirement):

    pip install --no-deps --target /tmp/gensim gensim smart_open wrapt
    PYTHONPATH=.:/tmp/gensim python docs/results/word2vec_init.py cnn_rnn gru
"""

import sys
import time

import keras
import numpy as np
from gensim.models import Word2Vec

from stages.data import Paths, load_arrays, load_splits, read_lines
from stages.metrics import classification_metrics
from stages.params import classifier_train, dataset_params, load_params
from stages.registry import class_probabilities
from stages.tokenize import words
from stages.train import train_classifier


class StartFrom(keras.callbacks.Callback):
    """Sets the model's embedding to the given matrix once the model is built, before the first batch."""

    def __init__(self, vectors: np.ndarray):
        super().__init__()
        self.vectors = vectors

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.model.get_layer("embedding").set_weights([self.vectors])


def word2vec_matrix(documents: list[list[str]], vocab: list[str], dim: int, seed: int) -> np.ndarray:
    """One row per vocabulary id: the word's vector where word2vec has one, else a random start."""
    started = time.perf_counter()
    vectors = Word2Vec(documents, vector_size=dim, window=5, min_count=2, sg=1, negative=5, workers=2, seed=seed).wv
    print(f"word2vec: {len(documents)} reviews, {time.perf_counter() - started:.1f} s")
    matrix = np.random.default_rng(seed).uniform(-0.05, 0.05, (len(vocab), dim)).astype("float32")
    found = np.array([word in vectors for word in vocab])
    matrix[found] = [vectors[word] for word in np.array(vocab)[found]]
    matrix[found] *= 0.05 / np.sqrt(3) / matrix[found].std()
    return matrix


def main() -> None:
    params, paths = load_params(), Paths("imdb")
    data = dataset_params(params, "imdb")
    texts = load_splits(data, paths.raw, params.seed)[0]["train"][0]
    documents = [words(text, data.tokenize.lowercase) for text in texts]
    vocab = read_lines(paths.tokenized / "vocab.txt")
    test, classes = load_arrays(paths.tokenized / "test"), read_lines(paths.tokenized / "classes.txt")
    for arch in sys.argv[1:]:
        dim = classifier_train(params, arch).embedding_dim
        model, summary = train_classifier(
            params, "imdb", arch, [StartFrom(word2vec_matrix(documents, vocab, dim, params.seed))]
        )
        metrics = classification_metrics(test["y"], class_probabilities(model, test["x"]), classes)
        print(f"RESULT word2vec {arch} test_acc={metrics['accuracy']:.4f} {summary}")


if __name__ == "__main__":
    main()
