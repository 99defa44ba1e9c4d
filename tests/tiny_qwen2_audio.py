"""A tiny random Qwen2-Audio directory for the tests and benchmarks of the speech-LLM
rescorer (no weights downloaded)."""
from typing import Optional, Sequence


def tiny_qwen2_audio(directory: str, seed: int = 0, sentences: Optional[Sequence[str]] = None):
    """Write a tiny, randomly initialised Qwen2-Audio directory (model, byte-level BPE tokenizer
    trained on `sentences`, Whisper feature extractor, processor) laid out like a real one: for
    tests and benchmarks of the speech-LLM path without downloading weights. The weights are
    drawn large (std 0.5) so that the next-token distribution really depends on the context
    and the audio; at the usual 0.02 every context predicts a near-uniform distribution and a
    broken cache could not be told from a working one."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import (PreTrainedTokenizerFast, Qwen2AudioConfig,
                              Qwen2AudioForConditionalGeneration, Qwen2AudioProcessor,
                              WhisperFeatureExtractor)

    specials = ["<|endoftext|>", "<|AUDIO|>", "<|audio_bos|>", "<|audio_eos|>", "<|en|>"]
    text = list(sentences or ["the lord is my shepherd i shall not want",
                              "he maketh me to lie down in green pastures"])
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    bpe.train_from_iterator(text, trainers.BpeTrainer(
        vocab_size=400, special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=bpe, eos_token="<|endoftext|>",
                                        pad_token="<|endoftext|>",
                                        additional_special_tokens=specials[1:])
    features = WhisperFeatureExtractor(feature_size=128)
    processor = Qwen2AudioProcessor(feature_extractor=features, tokenizer=tokenizer)
    torch.manual_seed(seed)
    config = Qwen2AudioConfig(
        audio_config={"num_mel_bins": 128, "encoder_layers": 1, "encoder_attention_heads": 2,
                      "encoder_ffn_dim": 64, "d_model": 32, "max_source_positions": 1500,
                      "initializer_range": 0.5},
        text_config={"model_type": "qwen2", "vocab_size": len(tokenizer), "hidden_size": 32,
                     "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
                     "num_key_value_heads": 2, "max_position_embeddings": 2048,
                     "eos_token_id": tokenizer.eos_token_id, "initializer_range": 0.5},
        audio_token_index=tokenizer.convert_tokens_to_ids("<|AUDIO|>"))
    model = Qwen2AudioForConditionalGeneration(config)
    model.save_pretrained(directory)
    processor.save_pretrained(directory)
    return directory
