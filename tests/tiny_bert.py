"""A tiny random BERT checkpoint for fast transformer tests, built locally (nothing downloaded).

The tokenizer is a BERT-style WordPiece tokenizer built with the `tokenizers` library from the
given texts and wrapped as a `transformers` fast tokenizer with the BERT special tokens. Its
vocabulary is chosen deterministically (the special tokens, every character seen both as a word
start and as a `##` continuation, then the most frequent whole words, ties broken
alphabetically): `tokenizers`' WordPieceTrainer breaks ties between equally frequent merges in
hash order, so it gives a different vocabulary on every run, and with it different token ids and
test metrics from one session to the next.

The encoder is a 2-layer, 32-wide `BertModel` (with its pooler, like the MiniLM base)
initialised from a fixed torch seed. Both are saved into one folder (config.json,
model.safetensors, tokenizer files): the layout `training.families.transformer.base_model.resolve_base_model` accepts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from pathlib import Path

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
MAX_POSITIONS = 128
VOCAB_SIZE = 800


def _normalizer_and_pre_tokenizer():
    from tokenizers import normalizers, pre_tokenizers

    return normalizers.BertNormalizer(lowercase=True), pre_tokenizers.BertPreTokenizer()


def wordpiece_vocab(texts: Iterable[str], vocab_size: int = VOCAB_SIZE) -> dict[str, int]:
    normalizer, pre_tokenizer = _normalizer_and_pre_tokenizer()
    words: Counter[str] = Counter()
    for text in texts:
        words.update(w for w, _ in pre_tokenizer.pre_tokenize_str(normalizer.normalize_str(text)))
    chars = sorted({c for w in words for c in w})
    tokens = SPECIAL_TOKENS + chars + [f"##{c}" for c in chars]
    if len(tokens) > vocab_size:
        raise ValueError(f"vocab_size {vocab_size} is below the {len(tokens)} special and character tokens")
    whole = [w for w, _ in sorted(words.items(), key=lambda kv: (-kv[1], kv[0])) if len(w) > 1]
    tokens += whole[: vocab_size - len(tokens)]
    return {tok: i for i, tok in enumerate(tokens)}


def build_tokenizer(texts: Iterable[str], vocab_size: int = VOCAB_SIZE):
    """A lower-casing BERT WordPiece tokenizer ([CLS] text [SEP]) as a transformers fast tokenizer."""
    from tokenizers import Tokenizer, decoders, models, processors
    from transformers import PreTrainedTokenizerFast

    vocab = wordpiece_vocab(texts, vocab_size)
    tok = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]", max_input_chars_per_word=100))
    tok.normalizer, tok.pre_tokenizer = _normalizer_and_pre_tokenizer()
    tok.decoder = decoders.WordPiece()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])],
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        model_max_length=MAX_POSITIONS,
    )


def build_tiny_bert(
    out_dir: Path,
    texts: Iterable[str],
    seed: int = 1234,
    vocab_size: int = VOCAB_SIZE,
    initializer_range: float = 0.2,
    dropout: float = 0.1,
) -> Path:
    """Save a tokenizer built from `texts` and a random tiny BertModel into `out_dir`.

    `initializer_range` (BERT's default is 0.02) is raised so that this untrained encoder's output
    depends visibly on its input: at 0.02 every letter gets the same probability to five decimals,
    and no comparison of scores (torch vs ONNX, flipped fields) could tell inputs apart.
    `dropout` (BERT's 0.1 on hidden states and attention, and on the classifier fine-tuning adds):
    0 where two trainings must agree whatever random stream each process draws its masks from."""
    import torch
    from transformers import BertConfig, BertModel

    tokenizer = build_tokenizer(texts, vocab_size)
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=MAX_POSITIONS,
        pad_token_id=tokenizer.pad_token_id,
        initializer_range=initializer_range,
        hidden_dropout_prob=dropout,
        attention_probs_dropout_prob=dropout,
    )
    torch.manual_seed(seed)
    model = BertModel(config)
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(out_dir))  # model.safetensors + config.json
    tokenizer.save_pretrained(str(out_dir))
    return out_dir
