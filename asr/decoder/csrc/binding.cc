// asr.decoder._native: the Python face of the search. Every input is checked here, at the
// boundary; bad graphs and posteriors raise common.errors.InputError, API misuse ValueError.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <limits>
#include <memory>
#include <mutex>
#include <thread>
#include <type_traits>

#include "decoder.h"
#include "graph.h"
#include "hotwords.h"
#include "words.h"

namespace py = pybind11;
using namespace tingxie;

namespace {

[[noreturn]] void RaiseInputError(const std::string &message) {
  py::object cls = py::module_::import("common.errors").attr("InputError");
  PyErr_SetObject(cls.ptr(), cls(message).ptr());
  throw py::error_already_set();
}

// DecoderOptions from {name: value}, every field given (asr/decoder/options.py checked the
// values); a missing or unknown name is a ValueError, a value of the wrong type a TypeError.
DecoderOptions OptionsFromDict(const py::dict &values) {
  DecoderOptions o;
  size_t used = 0;
  o.Register([&](const char *name, auto *field) {
    using T = std::remove_pointer_t<decltype(field)>;
    if (!values.contains(name))
      throw py::value_error(std::string("DecoderOptions: no value for ") + name);
    py::handle value = values[name];
    if (std::is_same_v<T, bool> ? !py::isinstance<py::bool_>(value)
                                : py::isinstance<py::bool_>(value))
      throw py::type_error(std::string("DecoderOptions: wrong type for ") + name);
    *field = value.cast<T>();
    ++used;
  });
  if (used != values.size()) throw py::value_error("DecoderOptions: unknown option names");
  return o;
}

py::dict OptionsToDict(DecoderOptions o) {
  py::dict d;
  o.Register([&](const char *name, auto *field) { d[name] = *field; });
  return d;
}

// A checked view of one [T, V] float32 posterior matrix.
struct Posteriors {
  py::array array;  // keeps the data alive
  const float *data;
  int32_t frames, columns;
};

Posteriors CheckPosteriors(py::handle obj, int32_t num_tokens, int32_t max_ilabel,
                           const std::string &what) {
  if (!py::isinstance<py::array>(obj))
    RaiseInputError(what + ": expected a numpy array of log-posteriors, got " +
                    std::string(py::str(py::type::of(obj).attr("__name__"))));
  py::array a = py::reinterpret_borrow<py::array>(obj);
  if (!a.dtype().is(py::dtype::of<float>()))
    RaiseInputError(what + ": log-posteriors must be float32, got " +
                    std::string(py::str(a.dtype())));
  if (a.ndim() != 2)
    RaiseInputError(what + ": log-posteriors must be 2-D [T, V], got " +
                    std::to_string(a.ndim()) + "-D");
  if (a.shape(0) == 0) RaiseInputError(what + ": no frames (T = 0)");
  if (a.shape(0) > (1 << 30)) RaiseInputError(what + ": too many frames");
  if (a.shape(1) != num_tokens)
    RaiseInputError(what + ": V = " + std::to_string(a.shape(1)) +
                    " columns, but the graph's tokens.txt has " + std::to_string(num_tokens) +
                    " tokens");
  if (max_ilabel > a.shape(1))
    RaiseInputError(what + ": the graph uses input label " + std::to_string(max_ilabel) +
                    " (column " + std::to_string(max_ilabel - 1) + ") but V = " +
                    std::to_string(a.shape(1)));
  py::array c = py::array::ensure(a, py::array::c_style | py::array::forcecast);
  const float *p = static_cast<const float *>(c.data());
  const size_t n = static_cast<size_t>(c.shape(0)) * c.shape(1);
  bool bad = false;
  for (size_t i = 0; i < n; ++i) bad |= !(p[i] <= 1e-3f);  // NaN, +inf, or not a log-prob
  const int32_t columns = static_cast<int32_t>(c.shape(1));
  for (int32_t t = 0; t < c.shape(0); ++t) {  // a frame no token can be read at: no path
    const float *row = p + static_cast<size_t>(t) * columns;
    bool readable = false;
    for (int32_t j = 0; j < columns; ++j) readable |= row[j] > -std::numeric_limits<float>::infinity();
    if (!readable && !bad)
      RaiseInputError(what + ": frame " + std::to_string(t) + ": every column is -inf (no "
                      "token has any probability there, so no path can pass it)");
  }
  if (bad) {
    for (size_t i = 0; i < n; ++i) {
      if (!(p[i] <= 1e-3f))
        RaiseInputError(what + ": frame " + std::to_string(i / c.shape(1)) + ", column " +
                        std::to_string(i % c.shape(1)) + ": " +
                        (std::isnan(p[i]) ? std::string("NaN")
                                          : "value " + std::to_string(p[i])) +
                        " is not a log-probability (must be <= 0; -inf is allowed)");
    }
  }
  return Posteriors{c, p, static_cast<int32_t>(c.shape(0)), static_cast<int32_t>(c.shape(1))};
}

class NativeDecoder {
 public:
  NativeDecoder(const std::string &graph_path, std::vector<std::string> words,
                std::vector<std::string> token_text, std::vector<uint8_t> token_kind,
                const py::dict &options)
      : opts_(OptionsFromDict(options)) {
    if (token_text.empty()) throw py::value_error("the token table is empty");
    if (token_kind.size() != token_text.size())
      throw py::value_error("token_text and token_kind differ in length");
    for (uint8_t kind : token_kind)
      if (kind > Vocabulary::kNoLetters) throw py::value_error("unknown token kind");
    try {
      py::gil_scoped_release release;
      graph_ = std::make_unique<Graph>(graph_path);
    } catch (const GraphError &e) {
      RaiseInputError(e.what());
    }
    if (graph_->max_olabel() >= static_cast<int32_t>(words.size()))
      RaiseInputError(graph_path + ": output label " + std::to_string(graph_->max_olabel()) +
                      " is not in words.txt (" + std::to_string(words.size()) + " entries)");
    if (graph_->max_ilabel() > static_cast<int32_t>(token_text.size()))
      RaiseInputError(graph_path + ": input label " + std::to_string(graph_->max_ilabel()) +
                      " has no token (tokens.txt has " + std::to_string(token_text.size()) +
                      ")");
    vocab_ = std::make_unique<Vocabulary>(std::move(words), std::move(token_text),
                                          std::move(token_kind));
  }

  DecodeResult Decode(py::handle logp, const HotwordAutomaton *hot) {
    Posteriors post = CheckPosteriors(logp, vocab_->num_tokens(), graph_->max_ilabel(),
                                      "log-posteriors");
    CheckHotwords(hot);
    py::gil_scoped_release release;
    // Reuse the cached search buffers unless another thread is using them.
    std::unique_lock<std::mutex> lock(cached_mutex_, std::try_to_lock);
    if (lock.owns_lock()) {
      if (!cached_) cached_ = std::make_unique<Search>(*graph_, opts_, vocab_.get(), big_lm());
      return cached_->Decode(post.data, post.frames, post.columns, hot);
    }
    Search search(*graph_, opts_, vocab_.get(), big_lm());
    return search.Decode(post.data, post.frames, post.columns, hot);
  }

  // hotwords: None, one automaton for the whole batch, or a list with one per utterance.
  std::vector<DecodeResult> DecodeBatch(const py::list &batch, int num_threads,
                                        py::handle hotwords) {
    std::vector<Posteriors> posts;
    for (size_t i = 0; i < batch.size(); ++i)
      posts.push_back(CheckPosteriors(batch[i], vocab_->num_tokens(), graph_->max_ilabel(),
                                      "utterance " + std::to_string(i)));
    std::vector<const HotwordAutomaton *> hots(batch.size(), nullptr);
    if (py::isinstance<py::list>(hotwords)) {
      py::list l = hotwords.cast<py::list>();
      if (l.size() != batch.size())
        throw py::value_error("hotwords: one automaton per utterance, or one for the batch");
      for (size_t i = 0; i < l.size(); ++i)
        hots[i] = l[i].is_none() ? nullptr : l[i].cast<const HotwordAutomaton *>();
    } else if (!hotwords.is_none()) {
      std::fill(hots.begin(), hots.end(), hotwords.cast<const HotwordAutomaton *>());
    }
    for (const HotwordAutomaton *h : hots) CheckHotwords(h);
    std::vector<DecodeResult> results(posts.size());
    if (num_threads <= 0) num_threads = std::max(1u, std::thread::hardware_concurrency());
    num_threads = std::min<int>(num_threads, std::max<size_t>(1, posts.size()));
    std::vector<std::string> errors(posts.size());
    {
      py::gil_scoped_release release;
      std::atomic<size_t> next{0};
      auto worker = [&]() {
        Search search(*graph_, opts_, vocab_.get(), big_lm());
        for (size_t i = next++; i < posts.size(); i = next++) {
          try {
            results[i] = search.Decode(posts[i].data, posts[i].frames, posts[i].columns,
                                       hots[i]);
          } catch (const std::exception &e) {
            errors[i] = e.what();
          }
        }
      };
      std::vector<std::thread> pool;
      for (int t = 1; t < num_threads; ++t) pool.emplace_back(worker);
      worker();
      for (auto &th : pool) th.join();
    }
    for (size_t i = 0; i < errors.size(); ++i)
      if (!errors[i].empty())
        throw std::runtime_error("utterance " + std::to_string(i) + ": " + errors[i]);
    return results;
  }

  void CheckHotwords(const HotwordAutomaton *h) const {
    if (!h || h->checked_for == vocab_->num_tokens()) return;  // immutable once built
    const int32_t n = h->num_nodes();
    auto bad = [](const std::string &m) { throw py::value_error("hotword automaton: " + m); };
    if (n < 1 || static_cast<int32_t>(h->edge_begin.size()) != n + 1 ||
        static_cast<int32_t>(h->acc.size()) != n || static_cast<int32_t>(h->is_end.size()) != n)
      bad("inconsistent sizes");
    if (h->edge_begin[0] != 0 || h->edge_begin[n] != static_cast<int32_t>(h->edge_token.size()) ||
        h->edge_token.size() != h->edge_next.size())
      bad("inconsistent edges");
    for (int32_t v = 0; v < n; ++v) {
      if (h->edge_begin[v] > h->edge_begin[v + 1]) bad("edge offsets must not decrease");
      if (h->fail[v] < 0 || h->fail[v] >= n) bad("failure link out of range");
      if (!(h->acc[v] >= 0) || !std::isfinite(h->acc[v])) bad("bonus must be finite, >= 0");
      for (int32_t e = h->edge_begin[v]; e < h->edge_begin[v + 1]; ++e) {
        if (h->edge_next[e] <= 0 || h->edge_next[e] >= n) bad("edge target out of range");
        if (h->edge_token[e] < 0 || h->edge_token[e] >= vocab_->num_tokens())
          bad("edge token out of range");
        if (e > h->edge_begin[v] && h->edge_token[e] <= h->edge_token[e - 1])
          bad("edges must be sorted by token");
      }
    }
    if (!(h->cap >= 0)) bad("cap must be >= 0");
    // the out-of-vocabulary side graph
    const int32_t m = static_cast<int32_t>(h->oov_word.size());
    const int32_t first_label = static_cast<int32_t>(vocab_->words().size());
    if (m < 1 || static_cast<int32_t>(h->oov_edge_begin.size()) != m + 1 ||
        h->oov_edge_begin[0] != 0 ||
        h->oov_edge_begin[m] != static_cast<int32_t>(h->oov_edge_token.size()) ||
        h->oov_edge_token.size() != h->oov_edge_next.size())
      bad("inconsistent out-of-vocabulary trie");
    for (int32_t v = 0; v < m; ++v) {
      if (h->oov_edge_begin[v] > h->oov_edge_begin[v + 1]) bad("trie offsets must not decrease");
      const int32_t w = h->oov_word[v];
      if (w != -1 && (v == 0 || w < first_label ||
                      w >= first_label + static_cast<int32_t>(h->oov_words.size())))
        bad("out-of-vocabulary word label out of range");
      for (int32_t e = h->oov_edge_begin[v]; e < h->oov_edge_begin[v + 1]; ++e) {
        if (h->oov_edge_next[e] <= 0 || h->oov_edge_next[e] >= m) bad("trie edge out of range");
        if (h->oov_edge_token[e] < 0 || h->oov_edge_token[e] >= vocab_->num_tokens())
          bad("trie token out of range");
      }
    }
    if (!std::isfinite(h->oov_entry_cost) || !(h->oov_bonus >= 0) ||
        !std::isfinite(h->oov_bonus))
      bad("out-of-vocabulary costs must be finite");
    h->checked_for = vocab_->num_tokens();
  }

  // On-the-fly rescoring (big_lm.h): capsules of two lm._native.Scorer objects, which the
  // caller keeps alive as long as this decoder. Words the models do not know score as their
  // <unk>.
  void SetBigLm(py::capsule big, py::capsule small) {
    auto scorer = [](py::capsule c) {
      if (std::string(c.name() ? c.name() : "") != "tingxie.lm.BackoffScorer")
        throw py::type_error("set_big_lm takes lm._native.Scorer._capsule() objects");
      return static_cast<const lm::BackoffScorer *>(c.get_pointer());
    };
    auto models = std::make_unique<BigLm>();
    models->big = scorer(big);
    models->small = scorer(small);
    const std::vector<std::string> &words = vocab_->words();
    models->big_id.resize(words.size());
    models->small_id.resize(words.size());
    for (size_t i = 0; i < words.size(); ++i) {
      models->big_id[i] = models->big->Index(words[i]);
      models->small_id[i] = models->small->Index(words[i]);
    }
    std::lock_guard<std::mutex> lock(cached_mutex_);
    cached_.reset();
    big_lm_ = std::move(models);
  }
  const BigLm *big_lm() const { return big_lm_.get(); }

  const Graph &graph() const { return *graph_; }
  const DecoderOptions &options() const { return opts_; }
  const Vocabulary &vocab() const { return *vocab_; }

 private:
  DecoderOptions opts_;
  std::unique_ptr<Graph> graph_;
  std::unique_ptr<Vocabulary> vocab_;
  std::mutex cached_mutex_;
  std::unique_ptr<Search> cached_;
  std::unique_ptr<BigLm> big_lm_;
};

// One utterance decoded as its posteriors arrive (decoder.h, Lifecycle). The Python object
// keeps its NativeDecoder and hotword automaton alive (py::keep_alive).
class NativeStream {
 public:
  NativeStream(const NativeDecoder &decoder, const HotwordAutomaton *hot)
      : decoder_(decoder),
        search_(decoder.graph(), decoder.options(), &decoder.vocab(), decoder.big_lm()) {
    decoder.CheckHotwords(hot);
    search_.Init(decoder.vocab().num_tokens(), hot);
  }

  // logp: [T, V] float32 (T may be 0).
  void Accept(py::handle logp) {
    if (finalized_) throw py::value_error("DecodeStream: accept() after finalize()");
    if (py::isinstance<py::array>(logp) && py::reinterpret_borrow<py::array>(logp).ndim() == 2 &&
        py::reinterpret_borrow<py::array>(logp).shape(0) == 0)
      return;
    const std::string what =
        "log-posteriors (frames " + std::to_string(search_.frames_received()) + "..)";
    Posteriors post = CheckPosteriors(logp, decoder_.vocab().num_tokens(),
                                      decoder_.graph().max_ilabel(), what);
    py::gil_scoped_release release;
    search_.Advance(post.data, post.frames);
  }

  py::object Partial() const {
    Hypothesis hyp;
    if (!search_.Partial(&hyp)) return py::none();
    return py::cast(std::move(hyp));
  }

  DecodeResult Finalize() {
    if (finalized_) throw py::value_error("DecodeStream: finalize() called twice");
    if (search_.frames_received() == 0)
      RaiseInputError("log-posteriors: no frames (T = 0)");
    finalized_ = true;
    py::gil_scoped_release release;
    return search_.Finalize();
  }

  int32_t frames() const { return search_.frames_received(); }

 private:
  const NativeDecoder &decoder_;
  Search search_;
  bool finalized_ = false;
};

// OpenFst binary (vector FST) of a lattice: standard arcs (weight = graph + acoustic), or with
// kaldi_weights Kaldi's "lattice4" arcs (LatticeWeight: the pair graph, acoustic; final
// weights (final_cost, final_acoustic or 0), Zero = (inf, inf)).
void WriteLatticeFst(const Lattice &lat, const std::string &path,
                     const std::vector<float> *final_acoustic = nullptr,
                     bool kaldi_weights = false) {
  FILE *f = std::fopen(path.c_str(), "wb");
  if (!f) throw py::value_error("cannot write " + path);
  auto put = [&](const void *p, size_t n) { std::fwrite(p, 1, n, f); };
  auto put_i32 = [&](int32_t v) { put(&v, 4); };
  auto put_i64 = [&](int64_t v) { put(&v, 8); };
  auto put_f32 = [&](float v) { put(&v, 4); };
  auto put_str = [&](const std::string &s) {
    put_i32(static_cast<int32_t>(s.size()));
    put(s.data(), s.size());
  };
  std::vector<std::vector<const LatticeArc *>> out(lat.num_states);
  for (const LatticeArc &a : lat.arcs) out[a.src].push_back(&a);
  put_i32(2125659606);
  put_str("vector");
  put_str(kaldi_weights ? "lattice4" : "standard");
  put_i32(2);                  // version
  put_i32(0);                  // flags: no symbol tables
  uint64_t props = 0x1ULL | 0x2ULL;  // kExpanded, kMutable: no other property claimed
  put(&props, 8);
  put_i64(lat.num_states ? lat.start : -1);
  put_i64(lat.num_states);
  put_i64(static_cast<int64_t>(lat.arcs.size()));
  for (int32_t s = 0; s < lat.num_states; ++s) {
    const float fin = lat.final_cost[s];
    if (kaldi_weights) {
      const bool final = fin < std::numeric_limits<float>::infinity();
      put_f32(fin);
      put_f32(!final ? fin : final_acoustic ? (*final_acoustic)[s] : 0.0f);
    } else {
      put_f32(fin);
    }
    put_i64(static_cast<int64_t>(out[s].size()));
    for (const LatticeArc *a : out[s]) {
      put_i32(a->ilabel);
      put_i32(a->olabel);
      if (kaldi_weights) {
        put_f32(a->graph_cost);
        put_f32(a->acoustic_cost);
      } else {
        put_f32(a->graph_cost + a->acoustic_cost);
      }
      put_i32(a->dst);
    }
  }
  bool ok = !std::ferror(f);
  ok &= std::fclose(f) == 0;
  if (!ok) throw py::value_error("error writing " + path);
}

// The word lattice as an OpenFst acceptor (word:word, weight = graph + acoustic), or with
// kaldi_lattice as a Kaldi Lattice (ConvertLattice of the CompactLattice): each arc becomes
// a chain reading its token labels, the word and the weight on the first link; a final
// string becomes a chain to a new final state.
void WriteWordLatticeFst(const WordLattice &w, const std::string &path, bool kaldi_lattice) {
  Lattice lat;
  lat.start = w.start;
  lat.num_states = w.num_states;
  std::vector<float> final_acoustic;
  for (int32_t s = 0; s < w.num_states; ++s) {
    lat.final_cost.push_back(kaldi_lattice ? w.final_graph[s]
                                           : w.final_graph[s] + w.final_acoustic[s]);
    final_acoustic.push_back(w.final_acoustic[s]);
  }
  if (!kaldi_lattice) {
    for (const WordLatticeArc &a : w.arcs)
      lat.arcs.push_back(LatticeArc{a.src, a.dst, a.word, a.word, a.graph_cost, a.acoustic_cost});
    WriteLatticeFst(lat, path);
    return;
  }
  const float inf = std::numeric_limits<float>::infinity();
  auto new_state = [&]() {
    lat.final_cost.push_back(inf);
    final_acoustic.push_back(inf);
    return lat.num_states++;
  };
  // a chain src -> ... -> dst reading labels; the first link has the olabel and the weight
  auto chain = [&](int32_t src, int32_t dst, int32_t olabel, float graph, float acoustic,
                   const int32_t *labels, int32_t n) {
    if (n == 0) {
      lat.arcs.push_back(LatticeArc{src, dst, 0, olabel, graph, acoustic});
      return;
    }
    for (int32_t i = 0; i < n; ++i) {
      const int32_t next = i + 1 == n ? dst : new_state();
      lat.arcs.push_back(i == 0 ? LatticeArc{src, next, labels[i], olabel, graph, acoustic}
                                : LatticeArc{src, next, labels[i], 0, 0.0f, 0.0f});
      src = next;
    }
  };
  for (const WordLatticeArc &a : w.arcs)
    chain(a.src, a.dst, a.word, a.graph_cost, a.acoustic_cost, w.labels.data() + a.string_begin,
          a.string_length);
  for (int32_t s = 0; s < w.num_states; ++s) {
    if (!(w.final_graph[s] < inf) || w.final_string_length[s] == 0) continue;
    const int32_t end = new_state();
    chain(s, end, 0, w.final_graph[s], w.final_acoustic[s],
          w.labels.data() + w.final_string_begin[s], w.final_string_length[s]);
    lat.final_cost[end] = 0.0f;
    final_acoustic[end] = 0.0f;
    lat.final_cost[s] = inf;
    final_acoustic[s] = inf;
  }
  WriteLatticeFst(lat, path, &final_acoustic, true);
}

py::dict WordLatticeArrays(const WordLattice &l) {
  const size_t n = l.arcs.size();
  const size_t m = static_cast<size_t>(l.num_states);
  py::array_t<int32_t> src(n), dst(n), word(n), start_frame(n), end_frame(n), offsets(n + 1);
  py::array_t<float> graph(n), acoustic(n);
  std::vector<int32_t> strings;
  offsets.mutable_at(0) = 0;
  for (size_t i = 0; i < n; ++i) {
    const WordLatticeArc &a = l.arcs[i];
    src.mutable_at(i) = a.src;
    dst.mutable_at(i) = a.dst;
    word.mutable_at(i) = a.word;
    graph.mutable_at(i) = a.graph_cost;
    acoustic.mutable_at(i) = a.acoustic_cost;
    start_frame.mutable_at(i) = l.state_frame[a.src];
    end_frame.mutable_at(i) = l.state_frame[a.src] + a.string_length;
    strings.insert(strings.end(), l.labels.begin() + a.string_begin,
                   l.labels.begin() + a.string_begin + a.string_length);
    offsets.mutable_at(i + 1) = static_cast<int32_t>(strings.size());
  }
  py::array_t<float> final_graph(m), final_acoustic(m), final_cost(m);
  py::array_t<int32_t> final_offsets(m + 1);
  std::vector<int32_t> final_strings;
  final_offsets.mutable_at(0) = 0;
  for (size_t s = 0; s < m; ++s) {
    final_graph.mutable_at(s) = l.final_graph[s];
    final_acoustic.mutable_at(s) = l.final_acoustic[s];
    final_cost.mutable_at(s) = l.final_graph[s] + l.final_acoustic[s];
    final_strings.insert(final_strings.end(), l.labels.begin() + l.final_string_begin[s],
                         l.labels.begin() + l.final_string_begin[s] + l.final_string_length[s]);
    final_offsets.mutable_at(s + 1) = static_cast<int32_t>(final_strings.size());
  }
  py::dict d;
  d["src"] = src;
  d["dst"] = dst;
  d["ilabel"] = word;  // an acceptor: ilabel = olabel = word
  d["olabel"] = word;
  d["graph_cost"] = graph;
  d["acoustic_cost"] = acoustic;
  d["start_frame"] = start_frame;
  d["end_frame"] = end_frame;
  d["string_offsets"] = offsets;
  d["strings"] = py::array_t<int32_t>(strings.size(), strings.data());
  d["final_graph_cost"] = final_graph;
  d["final_acoustic_cost"] = final_acoustic;
  d["final_cost"] = final_cost;
  d["final_string_offsets"] = final_offsets;
  d["final_strings"] = py::array_t<int32_t>(final_strings.size(), final_strings.data());
  d["state_frame"] = py::array_t<int32_t>(l.state_frame.size(), l.state_frame.data());
  return d;
}

}  // namespace

PYBIND11_MODULE(_native, m) {
  m.doc() = "Tingxie's native WFST decoder (see asr/decoder/csrc/decoder.h)";

  m.def("default_options", []() { return OptionsToDict(DecoderOptions()); },
        "The C++ DecoderOptions defaults by name (tests hold them equal to the options table).");

  py::class_<Hypothesis>(m, "Hypothesis")
      .def_readonly("word_ids", &Hypothesis::word_ids)
      .def_readonly("tokens", &Hypothesis::tokens)
      .def_readonly("token_frames", &Hypothesis::token_frames)
      .def_property_readonly("token_frames_array",
                             [](const Hypothesis &h) {
                               py::array_t<int32_t> a({static_cast<py::ssize_t>(
                                                           h.token_frames.size()),
                                                       py::ssize_t{2}});
                               auto m = a.mutable_unchecked<2>();
                               for (size_t i = 0; i < h.token_frames.size(); ++i) {
                                 m(i, 0) = h.token_frames[i].first;
                                 m(i, 1) = h.token_frames[i].second;
                               }
                               return a;
                             })
      .def_readonly("word_frames", &Hypothesis::word_frames)
      .def_readonly("total_cost", &Hypothesis::total_cost)
      .def_readonly("acoustic_cost", &Hypothesis::acoustic_cost)
      .def_readonly("graph_cost", &Hypothesis::graph_cost);

  py::class_<Lattice>(m, "Lattice")
      .def_readonly("start", &Lattice::start)
      .def_readonly("num_states", &Lattice::num_states)
      .def_property_readonly("num_arcs", [](const Lattice &l) { return l.arcs.size(); })
      .def("arrays",
           [](const Lattice &l) {
             size_t n = l.arcs.size();
             py::array_t<int32_t> src(n), dst(n), ilabel(n), olabel(n);
             py::array_t<float> graph(n), acoustic(n);
             for (size_t i = 0; i < n; ++i) {
               src.mutable_at(i) = l.arcs[i].src;
               dst.mutable_at(i) = l.arcs[i].dst;
               ilabel.mutable_at(i) = l.arcs[i].ilabel;
               olabel.mutable_at(i) = l.arcs[i].olabel;
               graph.mutable_at(i) = l.arcs[i].graph_cost;
               acoustic.mutable_at(i) = l.arcs[i].acoustic_cost;
             }
             py::array_t<float> final_cost(l.final_cost.size(), l.final_cost.data());
             py::array_t<int32_t> frame(l.state_frame.size(), l.state_frame.data());
             py::dict d;
             d["src"] = src;
             d["dst"] = dst;
             d["ilabel"] = ilabel;
             d["olabel"] = olabel;
             d["graph_cost"] = graph;
             d["acoustic_cost"] = acoustic;
             d["final_cost"] = final_cost;
             d["state_frame"] = frame;
             return d;
           })
      .def("write_fst", [](const Lattice &l, const std::string &path) { WriteLatticeFst(l, path); },
           py::arg("path"));

  py::class_<WordLattice>(m, "WordLattice")
      .def_readonly("start", &WordLattice::start)
      .def_readonly("num_states", &WordLattice::num_states)
      .def_property_readonly("num_arcs", [](const WordLattice &l) { return l.arcs.size(); })
      .def_readonly("beam", &WordLattice::beam)
      .def_readonly("attempts", &WordLattice::attempts)
      .def("arrays", &WordLatticeArrays)
      .def("write_fst", &WriteWordLatticeFst, py::arg("path"), py::arg("kaldi_lattice") = false);

  m.def(
      "determinize_lattice",
      [](int32_t num_states, int32_t start, std::vector<int32_t> src, std::vector<int32_t> dst,
         std::vector<int32_t> word, std::vector<float> graph, std::vector<float> acoustic,
         std::vector<int32_t> string_offsets, std::vector<int32_t> labels,
         std::vector<float> final_graph, std::vector<float> final_acoustic, float beam,
         int32_t max_states, int32_t max_arcs, int32_t max_retries) {
        const size_t n = src.size();
        if (dst.size() != n || word.size() != n || graph.size() != n || acoustic.size() != n ||
            string_offsets.size() != n + 1)
          throw py::value_error("determinize_lattice: arc columns differ in length");
        if (num_states < 1 || final_graph.size() != static_cast<size_t>(num_states) ||
            final_acoustic.size() != final_graph.size())
          throw py::value_error("determinize_lattice: one final weight per state");
        if (!(beam >= 0) || max_states < 1 || max_arcs < 1 || max_retries < 0)
          throw py::value_error("determinize_lattice: bad beam or limits");
        InputLattice in;
        in.num_states = num_states;
        in.start = start;
        in.labels = std::move(labels);
        for (size_t i = 0; i < n; ++i) {
          if (string_offsets[i] < 0 || string_offsets[i + 1] < string_offsets[i])
            throw py::value_error("determinize_lattice: string offsets must not decrease");
          in.arcs.push_back(InputLatticeArc{src[i], dst[i], word[i], graph[i], acoustic[i],
                                            string_offsets[i],
                                            string_offsets[i + 1] - string_offsets[i]});
        }
        in.final_graph = std::move(final_graph);
        in.final_acoustic = std::move(final_acoustic);
        in.final_string_begin.assign(num_states, 0);
        in.final_string_length.assign(num_states, 0);
        DeterminizeOptions opts;
        opts.beam = beam;
        opts.max_states = max_states;
        opts.max_arcs = max_arcs;
        opts.max_retries = max_retries;
        WordLattice out;
        try {
          py::gil_scoped_release release;
          DeterminizeWithRetries(in, opts, &out);
        } catch (const DeterminizeError &e) {
          throw py::value_error(e.what());
        }
        return out;
      },
      py::arg("num_states"), py::arg("start"), py::arg("src"), py::arg("dst"), py::arg("word"),
      py::arg("graph_cost"), py::arg("acoustic_cost"), py::arg("string_offsets"),
      py::arg("labels"), py::arg("final_graph_cost"), py::arg("final_acoustic_cost"),
      py::arg("beam"), py::arg("max_states") = 50000, py::arg("max_arcs") = 500000,
      py::arg("max_retries") = 8,
      "Pruned word determinisation (determinize.h) of any acyclic lattice, graph and acoustic "
      "costs kept apart (lattice rescoring's determinize_words); final strings are empty. "
      "ValueError on a malformed lattice (e.g. a cycle).");

  py::class_<DecodeResult>(m, "DecodeResult")
      .def_readonly("best", &DecodeResult::best)
      .def_readonly("reached_final", &DecodeResult::reached_final)
      .def_readonly("frames_searched", &DecodeResult::frames_searched)
      .def_readonly("work_bytes", &DecodeResult::work_bytes)
      .def_readonly("nbest", &DecodeResult::nbest)
      .def_readonly("lattice", &DecodeResult::lattice)
      .def_readonly("word_lattice", &DecodeResult::word_lattice)
      .def_readonly("lattice_nbest", &DecodeResult::lattice_nbest);

  m.def(
      "read_fst",
      [](const std::string &path) {
        std::unique_ptr<Graph> g;
        try {
          g = std::make_unique<Graph>(path);
        } catch (const GraphError &e) {
          RaiseInputError(e.what());
        }
        const int64_t n = g->num_states();
        py::array_t<float> final_cost(n);
        py::array_t<int64_t> first(n + 1);
        py::array_t<int32_t> num_input_eps(n);
        py::array_t<int32_t> ilabel(g->num_arcs()), olabel(g->num_arcs()), next(g->num_arcs());
        py::array_t<float> weight(g->num_arcs());
        int64_t k = 0;
        for (int64_t s = 0; s < n; ++s) {
          final_cost.mutable_at(s) = g->final_cost(s);
          first.mutable_at(s) = k;
          const Graph::ArcSpan span = g->span(s);  // what the search reads
          const Arc *a = span.begin;
          num_input_eps.mutable_at(s) = span.num_input_eps;
          for (uint32_t i = 0; i < span.num_arcs; ++i, ++k) {
            ilabel.mutable_at(k) = a[i].ilabel;
            olabel.mutable_at(k) = a[i].olabel;
            weight.mutable_at(k) = a[i].weight;
            next.mutable_at(k) = a[i].nextstate;
          }
        }
        first.mutable_at(n) = k;
        py::dict d;
        d["start"] = g->start();
        d["fst_type"] = g->fst_type();
        d["memory_mapped"] = g->memory_mapped();
        d["compact_arc_ranges"] = g->compact_arc_ranges();
        d["final_cost"] = final_cost;
        d["num_input_eps"] = num_input_eps;
        d["first_arc"] = first;
        d["ilabel"] = ilabel;
        d["olabel"] = olabel;
        d["weight"] = weight;
        d["nextstate"] = next;
        return d;
      },
      py::arg("path"),
      "Reads an OpenFst binary as the decoder does; arrays for tests (arcs per state in the "
      "decoder's order: input-epsilon arcs first).");

  m.def(
      "convert_to_aligned_const",
      [](const std::string &src, const std::string &dst) {
        try {
          Graph g(src);
          g.WriteAlignedConst(dst);
        } catch (const GraphError &e) {
          RaiseInputError(e.what());
        }
      },
      py::arg("src"), py::arg("dst"),
      "Rewrites an OpenFst vector/const FST as an aligned const FST the decoder memory-maps.");

  py::class_<HotwordAutomaton>(m, "HotwordAutomaton")
      .def(py::init([](std::vector<int32_t> edge_begin, std::vector<int32_t> edge_token,
                       std::vector<int32_t> edge_next, std::vector<int32_t> fail,
                       std::vector<float> acc, std::vector<uint8_t> is_end, float cap,
                       int64_t max_dense_entries) {
             HotwordAutomaton h;
             h.edge_begin = std::move(edge_begin);
             h.edge_token = std::move(edge_token);
             h.edge_next = std::move(edge_next);
             h.fail = std::move(fail);
             h.acc = std::move(acc);
             h.is_end = std::move(is_end);
             h.cap = cap;
             if (h.edge_begin.size() >= 2 && !h.fail.empty()) {
               int32_t max_token = 0;
               for (int32_t t : h.edge_token) max_token = std::max(max_token, t);
               if (h.edge_begin[0] == 0 && h.edge_begin[1] >= 0 &&
                   h.edge_begin[1] <= static_cast<int32_t>(h.edge_token.size()) &&
                   h.edge_token.size() == h.edge_next.size() && max_token < (1 << 24))
                 h.Finish(max_token + 1, max_dense_entries);
             }
             return h;
           }),
           py::arg("edge_begin"), py::arg("edge_token"), py::arg("edge_next"), py::arg("fail"),
           py::arg("acc"), py::arg("is_end"), py::arg("cap"),
           py::arg("max_dense_entries") = HotwordAutomaton::kMaxDenseEntries,
           "max_dense_entries: the largest nodes x tokens transition table kept dense (above "
           "it only the root's row is; the same moves, slower)")
      .def_property_readonly("num_nodes", &HotwordAutomaton::num_nodes)
      .def_property_readonly("dense", [](const HotwordAutomaton &h) { return !h.delta.empty(); })
      .def(
          "set_oov",
          [](HotwordAutomaton &h, std::vector<int32_t> edge_begin, std::vector<int32_t> edge_token,
             std::vector<int32_t> edge_next, std::vector<int32_t> word,
             std::vector<std::string> words, float entry_cost, float bonus,
             bool compact_topology, bool unigram_lm) {
            h.oov_edge_begin = std::move(edge_begin);
            h.oov_edge_token = std::move(edge_token);
            h.oov_edge_next = std::move(edge_next);
            h.oov_word = std::move(word);
            h.oov_words = std::move(words);
            h.oov_entry_cost = entry_cost;
            h.oov_bonus = bonus;
            h.compact_topology = compact_topology;
            h.unigram_lm = unigram_lm;
            h.checked_for = -1;
          },
          py::arg("edge_begin"), py::arg("edge_token"), py::arg("edge_next"), py::arg("word"),
          py::arg("words"), py::arg("entry_cost"), py::arg("bonus"),
          py::arg("compact_topology"), py::arg("unigram_lm"),
          "The out-of-vocabulary side graph: a trie over token columns; word[node] is the "
          "output label (len(words.txt) + i) of the spelling ending there, or -1.");

  py::class_<NativeStream>(m, "NativeStream")
      .def("accept", &NativeStream::Accept, py::arg("logp"))
      .def("partial", &NativeStream::Partial)
      .def("finalize", &NativeStream::Finalize)
      .def_property_readonly("frames", &NativeStream::frames);

  py::class_<NativeDecoder>(m, "NativeDecoder")
      .def(py::init<const std::string &, std::vector<std::string>, std::vector<std::string>,
                    std::vector<uint8_t>, const py::dict &>(),
           py::arg("graph_path"), py::arg("words"), py::arg("token_text"),
           py::arg("token_kind"), py::arg("options"))
      .def("decode", &NativeDecoder::Decode, py::arg("logp"), py::arg("hotwords") = nullptr)
      .def("set_big_lm", &NativeDecoder::SetBigLm, py::arg("big"), py::arg("small"))
      .def("decode_batch", &NativeDecoder::DecodeBatch, py::arg("batch"),
           py::arg("num_threads") = 0, py::arg("hotwords") = py::none())
      .def("stream",
           [](const NativeDecoder &d, const HotwordAutomaton *hot) {
             return std::make_unique<NativeStream>(d, hot);
           },
           py::arg("hotwords") = nullptr, py::keep_alive<0, 1>(), py::keep_alive<0, 2>())
      .def_property_readonly("num_states",
                             [](const NativeDecoder &d) { return d.graph().num_states(); })
      .def_property_readonly("num_arcs",
                             [](const NativeDecoder &d) { return d.graph().num_arcs(); })
      .def_property_readonly("fst_type",
                             [](const NativeDecoder &d) { return d.graph().fst_type(); })
      .def_property_readonly("memory_mapped",
                             [](const NativeDecoder &d) { return d.graph().memory_mapped(); })
      .def_property_readonly("max_ilabel",
                             [](const NativeDecoder &d) { return d.graph().max_ilabel(); });
}
