"""Large-LM rescorers through Hugging Face transformers: text-only causal LMs and Qwen2-Audio.

Both score a hypothesis as  ln P(tokens(hypothesis) [eos] | prefix)  where the prefix is the
same for every hypothesis of an utterance: a text prompt for a causal LM; for Qwen2-Audio the
prompt with the utterance's audio spliced in (`<|audio_bos|><|AUDIO|><|audio_eos|>`, the
processor expanding `<|AUDIO|>` to one token per encoder frame; Whisper's encoder wants exactly
3000 mel frames, i.e. 30 s, which the processor pads to).

Shared prefix. The prefix (hundreds of audio positions) is run once; its key/value cache is then
copied once per batch, repeated along the batch axis, and the N hypotheses are run on top of it
right-padded, with `position_ids` continuing after the prefix. The first hypothesis token is
predicted by the prefix's last logits. `share_prefix=False` runs prefix + hypothesis from
scratch for every hypothesis, one at a time: the reference the shared path must equal.

Everything loads from a local directory (`from_pretrained(path)` of a model and its tokenizer or
processor); nothing is downloaded: `local_files_only=True`.
"""
from __future__ import annotations

import copy
import os
from typing import List, Sequence

from common.errors import InputError

# Qwen2-Audio base model's own ASR prompt (its model card); the transcript follows it.
QWEN2_AUDIO_ASR_PROMPT = ("<|audio_bos|><|AUDIO|><|audio_eos|>"
                          "Detect the language and recognize the speech: <|en|>")


def _require_directory(directory: str) -> None:
    if not os.path.isdir(directory) or not os.path.isfile(os.path.join(directory, "config.json")):
        raise InputError("not a Hugging Face model directory (no config.json)", path=directory)


class CausalLmRescorer:
    """ln P(hypothesis | prompt) from any local Hugging Face causal LM (text-only rescoring).

    prompt: text put before every hypothesis ("" = just the tokenizer's BOS, or EOS when it
        has no BOS, so that the first word is predicted too).
    hypothesis_format: how words become text, `{}` replaced by the words joined with spaces.
    append_eos: also score the end-of-text token after the hypothesis (like an n-gram's </s>).
    batch_size: hypotheses run together on top of the shared prefix.
    """

    name = "llm"

    def __init__(self, directory: str, prompt: str = "", hypothesis_format: str = "{}",
                 append_eos: bool = True, batch_size: int = 16, share_prefix: bool = True,
                 device: str = "cpu", dtype: str = "float32"):
        import torch

        _require_directory(directory)
        self.torch = torch
        self.directory = directory
        self.prompt = prompt
        self.hypothesis_format = hypothesis_format
        self.append_eos = append_eos
        self.batch_size = batch_size
        self.share_prefix = share_prefix
        self.device = device
        self.dtype = getattr(torch, dtype)
        self.model, self.tokenizer = self._load()
        self.model.to(device)
        self.model.eval()
        self.eos_id = self.tokenizer.eos_token_id
        if append_eos and self.eos_id is None:
            raise InputError("the tokenizer has no eos token; use append_eos=False", path=directory)
        self.pad_id = self.tokenizer.pad_token_id
        if self.pad_id is None:
            self.pad_id = self.eos_id if self.eos_id is not None else 0

    def _load(self):
        from transformers import AutoModelForCausalLM, AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(self.directory, local_files_only=True)
        model = AutoModelForCausalLM.from_pretrained(self.directory, local_files_only=True,
                                                     dtype=self.dtype)
        return model, tokenizer

    # -- the prefix every hypothesis of one utterance shares ---------------------------------
    def _prefix_inputs(self, audio) -> dict:
        if audio is not None:
            raise ValueError(f"{type(self).__name__} is text-only: it takes no audio")
        ids = self.tokenizer(self.prompt, add_special_tokens=False)["input_ids"] if self.prompt \
            else []
        if not ids:
            start = self.tokenizer.bos_token_id
            ids = [start if start is not None else self.eos_id]
        input_ids = self.torch.tensor([ids], device=self.device)
        return {"input_ids": input_ids, "attention_mask": self.torch.ones_like(input_ids)}

    def _hypothesis_ids(self, words: Sequence[str]) -> List[int]:
        text = self.hypothesis_format.format(" ".join(words))
        ids = self.tokenizer(text, add_special_tokens=False)["input_ids"] if text else []
        return list(ids) + ([self.eos_id] if self.append_eos else [])

    # -- scoring -----------------------------------------------------------------------------
    def score(self, hypotheses: Sequence[Sequence[str]], audio=None) -> List[float]:
        if not hypotheses:
            return []
        token_ids = [self._hypothesis_ids(words) for words in hypotheses]
        if any(not ids for ids in token_ids):
            raise ValueError("an empty hypothesis with append_eos=False has no tokens to score")
        prefix = self._prefix_inputs(audio)
        with self.torch.inference_mode():
            if self.share_prefix:
                return self._score_shared(prefix, token_ids)
            return [self._score_alone(prefix, ids) for ids in token_ids]

    def _score_alone(self, prefix: dict, ids: List[int]) -> float:
        torch = self.torch
        hyp = torch.tensor([ids], device=self.device)
        inputs = dict(prefix)
        inputs["input_ids"] = torch.cat([prefix["input_ids"], hyp], dim=1)
        inputs["attention_mask"] = torch.ones_like(inputs["input_ids"])
        logits = self.model(**inputs, use_cache=False).logits[0].float()
        start = prefix["input_ids"].shape[1] - 1
        logprobs = torch.log_softmax(logits[start:start + len(ids)], dim=-1)
        return float(logprobs.gather(1, hyp[0].unsqueeze(1)).sum())

    def _score_shared(self, prefix: dict, token_ids: List[List[int]]) -> List[float]:
        torch = self.torch
        out = self.model(**prefix, use_cache=True)
        cache = out.past_key_values
        first = torch.log_softmax(out.logits[0, -1].float(), dim=-1)
        prefix_len = prefix["input_ids"].shape[1]
        scores: List[float] = []
        for begin in range(0, len(token_ids), self.batch_size):
            batch = token_ids[begin:begin + self.batch_size]
            width = max(len(ids) for ids in batch)
            ids = torch.full((len(batch), width), self.pad_id, dtype=torch.long)
            mask = torch.zeros((len(batch), width), dtype=torch.long)
            for row, seq in enumerate(batch):
                ids[row, :len(seq)] = torch.tensor(seq)
                mask[row, :len(seq)] = 1
            ids, mask = ids.to(self.device), mask.to(self.device)
            batch_cache = copy.deepcopy(cache)
            batch_cache.batch_repeat_interleave(len(batch))
            attention = torch.cat([prefix["attention_mask"].expand(len(batch), -1), mask], dim=1)
            positions = prefix_len + torch.arange(width, device=self.device)
            positions = positions.expand(len(batch), -1)
            logits = self.model(input_ids=ids, attention_mask=attention, position_ids=positions,
                                past_key_values=batch_cache, use_cache=True).logits.float()
            # token j is predicted by position j-1; token 0 by the prefix's last position
            logprobs = torch.log_softmax(logits[:, :-1], dim=-1)
            later = logprobs.gather(2, ids[:, 1:].unsqueeze(2)).squeeze(2) * mask[:, 1:]
            first_token = first[ids[:, 0]]
            scores.extend((first_token + later.sum(dim=1)).tolist())
        return scores


class SpeechLlmRescorer(CausalLmRescorer):
    """ln P(hypothesis | audio, prompt) from a local Qwen2-Audio directory
    (`Qwen2AudioForConditionalGeneration` + `AutoProcessor`). `audio` is a float waveform at the
    processor's sampling rate (16 kHz), at most 30 s."""

    name = "speech_llm"

    def __init__(self, directory: str, prompt: str = QWEN2_AUDIO_ASR_PROMPT, **options):
        super().__init__(directory, prompt=prompt, **options)
        if "<|AUDIO|>" not in prompt:
            raise ValueError("a speech-LLM prompt must contain <|AUDIO|>")

    def _load(self):
        from transformers import AutoProcessor, Qwen2AudioForConditionalGeneration

        self.processor = AutoProcessor.from_pretrained(self.directory, local_files_only=True)
        model = Qwen2AudioForConditionalGeneration.from_pretrained(
            self.directory, local_files_only=True, dtype=self.dtype)
        return model, self.processor.tokenizer

    def _prefix_inputs(self, audio) -> dict:
        import numpy as np

        if audio is None:
            raise ValueError("the speech-LLM rescorer needs the utterance's audio")
        waveform = np.asarray(audio, dtype=np.float32)
        if waveform.ndim != 1:
            raise ValueError(f"audio must be a mono waveform, got shape {waveform.shape}")
        rate = self.processor.feature_extractor.sampling_rate
        inputs = self.processor(text=self.prompt, audio=waveform, sampling_rate=rate,
                                return_tensors="pt")
        prefix = {key: inputs[key].to(self.device) for key in
                  ("input_ids", "attention_mask", "input_features", "feature_attention_mask")}
        prefix["input_features"] = prefix["input_features"].to(self.dtype)
        return prefix
