"""Bad input through the Python API: one error type (`InputError`, a ValueError) for every
entry point, and warnings where a result is kept but doubtful."""
import warnings
from pathlib import Path

import numpy as np
import pytest

from common.errors import InputError

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "resources" / "demo"


@pytest.fixture(scope="module")
def recognizer():
    from asr import Recognizer
    return Recognizer(str(DEMO / "model"), graph=str(DEMO / "graph"))


@pytest.mark.parametrize("audio, problem", [
    (np.zeros((16000, 2), np.float32), "mono"),
    (np.zeros(0, np.float32), "empty"),
    (np.full(16000, np.nan, np.float32), "NaN"),
    (np.zeros(10, np.float32), "too short"),
    (np.array(["not", "numbers"]), "array of numbers"),
])
def test_recognizer_bad_arrays(recognizer, audio, problem):
    with pytest.raises(InputError, match=problem):
        recognizer.transcribe(audio)


def test_recognizer_bad_arguments():
    from asr import Recognizer
    with pytest.raises(InputError, match="mode"):
        Recognizer(str(DEMO / "model"), mode="rnnt")
    with pytest.raises(InputError, match="nbest"):
        Recognizer(str(DEMO / "model"), nbest=0)
    with pytest.raises(InputError, match="beamz"):
        Recognizer(str(DEMO / "model"), graph=str(DEMO / "graph"), beamz=3.0)
    assert issubclass(InputError, ValueError)


def test_recognizer_bad_posteriors(recognizer):
    with pytest.raises(InputError, match="posteriors"):
        recognizer.decode(np.zeros((5, 3), np.float32))


def test_a_hotword_list_belongs_to_its_decoder():
    from asr.decoder import Decoder
    first, second = Decoder(str(DEMO / "graph")), Decoder(str(DEMO / "graph"))
    compiled = first.compile_hotwords(["hear", "zyxwv"])  # one OOV word: a label past words.txt
    logp = np.log(np.full((20, first.num_tokens), 1.0 / first.num_tokens, np.float32))
    first.decode(logp, hotwords=compiled)
    with pytest.raises(InputError, match="another Decoder"):
        second.decode(logp, hotwords=compiled)
    with pytest.raises(InputError, match="another Decoder"):
        second.decode_batch([logp], hotwords=[compiled])


def test_a_huge_hotword_weight_is_bounded(tmp_path):
    from asr.decoder import Decoder
    decoder = Decoder(str(DEMO / "graph"))
    path = tmp_path / "hot.txt"
    path.write_text("hear 1e30\n", encoding="utf-8")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        compiled = decoder.compile_hotwords(str(path))
    assert compiled.entries == [("hear", decoder.hotword_options.max_weight)]
    assert any(f"{path}:1" in str(w.message) and "lowered" in str(w.message) for w in caught)


def test_an_all_minus_inf_frame_is_an_error():
    from asr.decoder import Decoder
    decoder = Decoder(str(DEMO / "graph"))
    logp = np.log(np.full((20, decoder.num_tokens), 1.0 / decoder.num_tokens, np.float32))
    logp[4] = -np.inf
    with pytest.raises(InputError, match="frame 4: every column is -inf"):
        decoder.decode(logp)


@pytest.mark.parametrize("reader", ["native", "python"])
def test_arpa_header_counts_and_infinite_backoffs(tmp_path, reader):
    from arpa_reference import read_arpa_python
    from lm.arpa import read_arpa
    read = read_arpa if reader == "native" else read_arpa_python
    good = "\\data\\\nngram 1=3\nngram 2=1\n\n\\1-grams:\n-1\t<s>\t-0.5\n-1\t</s>\n-1\ta\t-0.3\n" \
           "\n\\2-grams:\n-0.5\t<s> a\n\n\\end\\\n"
    huge = tmp_path / "huge.arpa"
    huge.write_text(good.replace("ngram 1=3", "ngram 1=999999999999999"), encoding="utf-8")
    with pytest.raises(InputError, match="1-grams"):
        read(str(huge))
    inf = tmp_path / "inf.arpa"
    inf.write_text(good.replace("-1\ta\t-0.3", "-1\ta\t-inf"), encoding="utf-8")
    with pytest.raises(InputError, match="infinite") as err:
        read(str(inf))
    assert err.value.line == 8
    bom = tmp_path / "bom.arpa"
    bom.write_text("\ufeff" + good, encoding="utf-8")
    assert "<s>" in read(str(bom)).vocab
