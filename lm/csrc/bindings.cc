// Python bindings of the native LM core (module lm._native). Every C++ InputError becomes
// common.errors.InputError with its file and line; arrays cross as numpy arrays.
#include <pybind11/functional.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <optional>

#include "arpa_format.h"
#include "arpa_read.h"
#include "corpus.h"
#include "kneser_ney.h"
#include "ngram_count.h"
#include "scorer.h"

namespace py = pybind11;
using namespace tingxie::lm;

namespace {

// Hands a vector's buffer to numpy without copying.
template <class T>
py::array_t<T> MoveToArray(std::vector<T> &&v, std::vector<size_t> shape) {
  auto *owned = new std::vector<T>(std::move(v));
  py::capsule free_when_done(owned, [](void *p) { delete reinterpret_cast<std::vector<T> *>(p); });
  return py::array_t<T>(shape, owned->data(), free_when_done);
}

template <class T>
py::array_t<T> ToArray(const std::vector<T> &v, size_t rows, size_t cols) {
  py::array_t<T> a(cols ? std::vector<size_t>{rows, cols} : std::vector<size_t>{rows});
  if (!v.empty()) std::memcpy(a.mutable_data(), v.data(), v.size() * sizeof(T));
  return a;
}

// Counting a corpus, then either estimating modified Kneser-Ney or returning raw counts.
class Counter {
 public:
  Counter(int order, bool chars, bool skip_symbols, std::optional<std::vector<std::string>> vocab,
          size_t memory_bytes, const std::string &temp_dir, bool verbose)
      : order_(order), verbose_(verbose), memory_bytes_(memory_bytes), temp_dir_(temp_dir) {
    if (order < 1 || order > kMaxOrder)
      throw InputError("order must be between 1 and 6, got " + std::to_string(order));
    if (vocab) {
      for (const auto &w : *vocab) vocab_.Intern(w);
      vocab_.Close();
    }
    counter_ = MakeNgramCounter(order, memory_bytes, temp_dir, &vocab_size_);
    CorpusOptions options;
    options.chars = chars;
    options.skip_symbols = skip_symbols;
    reader_.reset(new CorpusReader(&vocab_, options,
                                   [this](const std::vector<WordId> &ids) {
                                     vocab_size_ = vocab_.size();
                                     counter_->AddSentence(ids);
                                   }));
  }
  void BeginFile(const std::string &path) { Live().BeginFile(path); }
  void Feed(py::bytes data) {
    std::string_view view = data;
    py::gil_scoped_release release;
    Live().Feed(view.data(), view.size());
  }
  void EndFile() { Live().EndFile(); }
  uint64_t sentences() const { return reader_->sentences(); }
  uint64_t tokens() const { return reader_->tokens(); }
  int spilled_runs() const { return counter_ ? counter_->spilled_runs() : spilled_; }
  std::vector<std::string> vocab() const { return vocab_.words(); }

  // Estimates modified Kneser-Ney; returns the model's arrays, the discounts and counts.
  py::dict KneserNey(std::vector<uint64_t> prune, std::optional<std::vector<float>> fallback,
                     bool interpolate_unigrams) {
    KneserNeyOptions options = MakeOptions(std::move(prune), fallback, interpolate_unigrams);
    auto stream = Finish();
    KneserNeyModel model;
    {
      py::gil_scoped_release release;
      model = EstimateKneserNey(*stream, vocab_.size(), options);
    }
    py::list ids, logprob, backoff;
    for (ModelOrder &o : model.orders) {
      size_t n = o.size(), k = o.order;
      ids.append(MoveToArray(std::move(o.words), {n, k}));  // uint32; lm.mkn views it as int32
      logprob.append(MoveToArray(std::move(o.logprob), {n}));
      backoff.append(MoveToArray(std::move(o.backoff), {n}));
    }
    py::dict out = Summary(model.discounts, model.counts_before_pruning);
    out["ids"] = ids;
    out["logprob"] = logprob;
    out["backoff"] = backoff;
    return out;
  }

  // The same, written as ARPA text through `write(bytes)` as it is estimated, so that nothing
  // but the sorted streams (bounded by the memory budget) is held.
  py::dict KneserNeyArpa(std::vector<uint64_t> prune, std::optional<std::vector<float>> fallback,
                         bool interpolate_unigrams, const std::function<void(py::bytes)> &write) {
    KneserNeyOptions options = MakeOptions(std::move(prune), fallback, interpolate_unigrams);
    auto stream = Finish();
    const std::vector<std::string> &words = vocab_.words();
    class ArpaSink : public ModelSink {
     public:
      ArpaSink(const std::vector<std::string> &vocab, const std::function<void(py::bytes)> &write)
          : vocab_(vocab), write_(write) {}
      void Begin(const std::vector<uint64_t> &counts) override {
        writer_.reset(new ArpaWriter(vocab_, counts, [this](const std::string &chunk) {
          py::gil_scoped_acquire acquire;
          if (PyErr_CheckSignals() != 0) throw py::error_already_set();  // Ctrl-C while writing
          write_(py::bytes(chunk));
        }));
      }
      void BeginOrder(int order) override { writer_->BeginOrder(order); }
      void Add(const WordId *words, float logprob, float backoff) override { writer_->Add(words, logprob, backoff); }
      void End() override { writer_->End(); }

     private:
      const std::vector<std::string> &vocab_;
      const std::function<void(py::bytes)> &write_;
      std::unique_ptr<ArpaWriter> writer_;
    } sink(words, write);
    EstimateSummary summary;
    {
      py::gil_scoped_release release;
      summary = EstimateKneserNey(*stream, vocab_.size(), options, sink);
    }
    py::dict out = Summary(summary.discounts, summary.counts_before_pruning);
    out["counts"] = summary.counts;
    out["estimation_spilled_runs"] = summary.spilled_runs;
    return out;
  }

  py::list RawCountsPy() {
    auto stream = Finish();
    std::vector<RawOrder> raw;
    {
      py::gil_scoped_release release;
      raw = RawCounts(*stream, order_, reader_->sentences());
    }
    py::list out;
    for (int k = 1; k <= order_; ++k) {
      const RawOrder &o = raw[k - 1];
      std::vector<int64_t> counts(o.counts.begin(), o.counts.end());
      out.append(py::make_tuple(ToArray(std::vector<int32_t>(o.words.begin(), o.words.end()), o.counts.size(), k),
                                ToArray(counts, counts.size(), 0)));
    }
    return out;
  }

 private:
  CorpusReader &Live() {
    if (!counter_) throw std::invalid_argument("this Counter has already been consumed");
    return *reader_;
  }
  KneserNeyOptions MakeOptions(std::vector<uint64_t> prune, const std::optional<std::vector<float>> &fallback,
                               bool interpolate_unigrams) const {
    KneserNeyOptions options;
    options.order = order_;
    options.prune = std::move(prune);
    if (fallback) {
      if (fallback->size() != 3) throw InputError("--discount-fallback takes three discounts D1 D2 D3+");
      options.discount_fallback = true;
      for (int i = 0; i < 3; ++i) options.fallback[i] = (*fallback)[i];
    }
    options.interpolate_unigrams = interpolate_unigrams;
    options.verbose = verbose_;
    options.memory_bytes = memory_bytes_;
    options.temp_dir = temp_dir_;
    return options;
  }
  static py::dict Summary(const std::vector<Discount> &discounts, const std::vector<uint64_t> &counts_before_pruning) {
    py::list d;
    for (const Discount &x : discounts) d.append(py::make_tuple(x.amount[1], x.amount[2], x.amount[3]));
    py::dict out;
    out["discounts"] = d;
    out["counts_before_pruning"] = counts_before_pruning;
    return out;
  }
  std::unique_ptr<SortedNgrams> Finish() {
    Live();
    if (reader_->sentences() == 0) throw InputError("the corpus is empty");
    spilled_ = counter_->spilled_runs();
    auto stream = counter_->Finish();
    counter_.reset();
    return stream;
  }
  int order_;
  bool verbose_;
  size_t memory_bytes_;
  std::string temp_dir_;
  int spilled_ = 0;
  Vocabulary vocab_;
  size_t vocab_size_ = 3;
  std::unique_ptr<NgramCounter> counter_;
  std::unique_ptr<CorpusReader> reader_;
};

struct OrderArrays {
  std::vector<py::array_t<int32_t, py::array::c_style | py::array::forcecast>> ids;
  std::vector<py::array_t<float, py::array::c_style | py::array::forcecast>> logprob, backoff;
  OrderArrays(const py::list &ids_, const py::list &logprob_, const py::list &backoff_) {
    if (py::len(ids_) != py::len(logprob_) || py::len(ids_) != py::len(backoff_) || py::len(ids_) == 0)
      throw std::invalid_argument("ids, logprob and backoff must be non-empty lists of equal length");
    for (size_t k = 1; k <= py::len(ids_); ++k) {
      ids.emplace_back(ids_[k - 1]);
      logprob.emplace_back(logprob_[k - 1]);
      backoff.emplace_back(backoff_[k - 1]);
      size_t n = logprob.back().size();
      if (ids.back().size() != n * k || backoff.back().size() != n)
        throw std::invalid_argument("order " + std::to_string(k) + ": array shapes disagree");
    }
  }
  void CheckIds(size_t vocab_size) const {
    for (const auto &a : ids) {
      const int32_t *p = a.data();
      for (py::ssize_t i = 0; i < a.size(); ++i)
        if (p[i] < 0 || static_cast<size_t>(p[i]) >= vocab_size)
          throw std::invalid_argument("word id " + std::to_string(p[i]) + " is outside the vocabulary");
    }
  }
};

void FormatArpaPy(const std::vector<std::string> &vocab, const py::list &ids, const py::list &logprob,
                  const py::list &backoff, const std::function<void(py::bytes)> &write) {
  OrderArrays arrays(ids, logprob, backoff);
  arrays.CheckIds(vocab.size());
  std::vector<ArpaOrderView> views;
  for (size_t k = 0; k < arrays.ids.size(); ++k)
    views.push_back(ArpaOrderView{arrays.ids[k].data(), arrays.logprob[k].data(), arrays.backoff[k].data(),
                                  static_cast<size_t>(arrays.logprob[k].size())});
  FormatArpa(vocab, views, [&](const std::string &chunk) { write(py::bytes(chunk)); });
}

class Scorer {
 public:
  explicit Scorer(std::unique_ptr<BackoffScorer> scorer) : scorer_(std::move(scorer)) {}
  static Scorer Open(const std::string &path, bool populate) {
    std::unique_ptr<BackoffScorer> scorer;
    {
      py::gil_scoped_release release;
      scorer = BackoffScorer::Open(path, populate);
    }
    return Scorer(std::move(scorer));
  }
  void Write(const std::string &path) const {
    py::gil_scoped_release release;
    scorer_->Write(path);
  }
  // Model id of a word; -1 when unknown (not a unigram).
  int64_t Index(const std::string &word) const {
    WordId id = scorer_->Index(word);
    if (id == scorer_->unk() && word != "<unk>") return -1;
    return id;
  }
  std::string Word(int64_t id) const {
    if (id < 0 || static_cast<size_t>(id) >= scorer_->vocab_size()) throw py::index_error("word id out of range");
    return std::string(scorer_->Word(static_cast<WordId>(id)));
  }
  const BackoffScorer &native() const { return *scorer_; }
  py::dict Info() const {
    const ModelImageHeader &h = scorer_->header();
    py::list counts;
    for (uint32_t k = 0; k < h.order; ++k) counts.append(h.counts[k]);
    py::dict out;
    out["order"] = h.order;
    out["vocab_size"] = h.vocab_size;
    out["counts"] = counts;
    out["bytes"] = h.image_bytes;
    out["ngram_slots"] = h.ngram_slots;
    out["mapped"] = scorer_->mapped();
    out["bos"] = scorer_->bos();
    out["eos"] = scorer_->eos();
    out["unk"] = scorer_->unk_is_word() ? py::object(py::int_(scorer_->unk())) : py::object(py::none());
    return out;
  }

  Scorer(const std::vector<std::string> &vocab, const py::list &ids, const py::list &logprob,
         const py::list &backoff) {
    OrderArrays arrays(ids, logprob, backoff);
    arrays.CheckIds(vocab.size());
    std::vector<const int32_t *> id_ptrs;
    std::vector<const float *> lp, bo;
    std::vector<size_t> sizes;
    for (size_t k = 0; k < arrays.ids.size(); ++k) {
      id_ptrs.push_back(arrays.ids[k].data());
      lp.push_back(arrays.logprob[k].data());
      bo.push_back(arrays.backoff[k].data());
      sizes.push_back(arrays.logprob[k].size());
    }
    if (arrays.ids.size() > static_cast<size_t>(kMaxOrder)) throw InputError("orders above 6 are not supported");
    scorer_.reset(new BackoffScorer(vocab, static_cast<int>(arrays.ids.size()), id_ptrs, lp, bo, sizes));
  }

  float ScoreSentence(const std::string &sentence, bool bos, bool eos) const {
    return scorer_->ScoreLine(sentence, bos, eos).logprob;
  }

  // Scores every line of `text`; returns per-sentence arrays (log10 prob as float32 sums,
  // tokens, OOVs, the OOVs' own log10 probs).
  py::tuple ScoreText(py::bytes text, bool bos, bool eos) const {
    std::string_view view = text;
    std::vector<float> logprob;
    std::vector<uint32_t> tokens, oovs;
    std::vector<double> oov_logprob;
    {
      py::gil_scoped_release release;
      const char *p = view.data(), *end = p + view.size();
      while (p < end) {
        const char *newline = static_cast<const char *>(memchr(p, '\n', end - p));
        const char *line_end = newline ? newline : end;
        SentenceScore s = scorer_->ScoreLine(std::string_view(p, line_end - p), bos, eos);
        logprob.push_back(s.logprob);
        tokens.push_back(s.tokens);
        oovs.push_back(s.oovs);
        oov_logprob.push_back(s.oov_logprob);
        p = newline ? newline + 1 : end;
      }
    }
    return py::make_tuple(ToArray(logprob, logprob.size(), 0), ToArray(tokens, tokens.size(), 0),
                          ToArray(oovs, oovs.size(), 0), ToArray(oov_logprob, oov_logprob.size(), 0));
  }

  // One back-off query with a KenLM-style minimal state, for stateful users (lattice
  // rescoring): `state` is the history's relevant suffix, oldest first (model ids; () at
  // the start of nothing, (<s>,) after BOS); a negative `word` is an unknown word. Returns
  // (log10 P(word | state), the next state).
  py::tuple Advance(const std::vector<int64_t> &state, int64_t word) const {
    const int64_t vocab = static_cast<int64_t>(scorer_->vocab_size());
    if (word >= vocab) throw py::value_error("word id out of range");
    if (static_cast<int>(state.size()) >= kMaxOrder) throw py::value_error("state too long");
    std::vector<WordId> history(state.size());
    for (size_t i = 0; i < state.size(); ++i) {
      if (state[i] < 0 || state[i] >= vocab) throw py::value_error("state word id out of range");
      history[i] = static_cast<WordId>(state[i]);
    }
    const WordId id = word < 0 ? scorer_->unk() : static_cast<WordId>(word);
    ScorerState in = scorer_->StateAfter(history.data(), static_cast<int>(history.size())), out;
    const float logprob = scorer_->Score(in, id, &out);
    if (id == scorer_->unk() && !scorer_->unk_is_word()) out.length = 0;
    py::tuple next(out.length);
    for (int i = 0; i < out.length; ++i) next[i] = py::int_(out.words[out.length - 1 - i]);
    return py::make_tuple(logprob, next);
  }

 private:
  std::unique_ptr<BackoffScorer> scorer_;
};

}  // namespace

PYBIND11_MODULE(_native, m) {
  m.doc() = "Tingxie's native n-gram LM core: counting, modified Kneser-Ney, ARPA text, scoring.";
  static py::object input_error = py::module_::import("common.errors").attr("InputError");
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const InputError &e) {
      py::object path = e.path.empty() ? py::none() : py::object(py::str(e.path));
      py::object line = e.line > 0 ? py::object(py::int_(e.line)) : py::none();
      py::object err = input_error(py::str(e.what()), path, line);
      PyErr_SetObject(input_error.ptr(), err.ptr());
    }
  });
  py::class_<Counter>(m, "Counter")
      .def(py::init<int, bool, bool, std::optional<std::vector<std::string>>, size_t, const std::string &, bool>(),
           py::arg("order"), py::arg("chars") = false, py::arg("skip_symbols") = false,
           py::arg("vocab") = py::none(), py::arg("memory_bytes") = size_t(1) << 30,
           py::arg("temp_dir") = "/tmp", py::arg("verbose") = false)
      .def("begin_file", &Counter::BeginFile)
      .def("feed", &Counter::Feed)
      .def("end_file", &Counter::EndFile)
      .def_property_readonly("sentences", &Counter::sentences)
      .def_property_readonly("tokens", &Counter::tokens)
      .def_property_readonly("spilled_runs", &Counter::spilled_runs)
      .def("vocab", &Counter::vocab)
      .def("kneser_ney", &Counter::KneserNey, py::arg("prune"), py::arg("fallback"), py::arg("interpolate_unigrams"))
      .def("kneser_ney_arpa", &Counter::KneserNeyArpa, py::arg("prune"), py::arg("fallback"),
           py::arg("interpolate_unigrams"), py::arg("write"))
      .def("raw_counts", &Counter::RawCountsPy);
  m.def("format_arpa", &FormatArpaPy, py::arg("vocab"), py::arg("ids"), py::arg("logprob"), py::arg("backoff"),
        py::arg("write"));
  m.def("parse_arpa", [](py::bytes data, const std::string &path) {
    std::string_view view = data;
    ParsedArpa parsed;
    {
      py::gil_scoped_release release;
      parsed = ParseArpa(view, path);
    }
    py::list ids, logprob, backoff;
    for (size_t k = 1; k <= parsed.ids.size(); ++k) {
      size_t n = parsed.logprob[k - 1].size();
      ids.append(ToArray(parsed.ids[k - 1], n, k));
      logprob.append(ToArray(parsed.logprob[k - 1], n, 0));
      backoff.append(ToArray(parsed.backoff[k - 1], n, 0));
    }
    return py::make_tuple(parsed.vocab, ids, logprob, backoff);
  }, py::arg("data"), py::arg("path"));
  m.def("format_float", [](float v) {
    std::string s;
    AppendFloat(s, v);
    return s;
  });
  py::class_<Scorer>(m, "Scorer")
      .def(py::init<const std::vector<std::string> &, const py::list &, const py::list &, const py::list &>())
      .def_static("open", &Scorer::Open, py::arg("path"), py::arg("populate") = true,
                  "Map a binary model (tingxie lm build-binary); validated, InputError when bad.")
      .def("write", &Scorer::Write, py::arg("path"), "Write the model in the binary format.")
      .def("index", &Scorer::Index, py::arg("word"))
      .def("word", &Scorer::Word, py::arg("id"))
      .def("info", &Scorer::Info)
      // For another extension (the decoder's big-LM search): the C++ scorer, valid while this
      // object lives.
      .def("_capsule", [](const Scorer &s) {
        return py::capsule(static_cast<const void *>(&s.native()), "tingxie.lm.BackoffScorer");
      })
      .def("score_sentence", &Scorer::ScoreSentence, py::arg("sentence"), py::arg("bos") = true, py::arg("eos") = true)
      .def("score_text", &Scorer::ScoreText, py::arg("text"), py::arg("bos") = true, py::arg("eos") = true)
      .def("advance", &Scorer::Advance, py::arg("state"), py::arg("word"));
}
