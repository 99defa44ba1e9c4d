#include "graph.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

namespace tingxie {
namespace {

constexpr int32_t kFstMagic = 2125659606;
constexpr int32_t kSymbolTableMagic = 2125658996;
constexpr int32_t kHasInputSymbols = 1, kHasOutputSymbols = 2, kIsAligned = 4;
constexpr size_t kFileAlign = 16;

// Bounds-checked little-endian reader over a byte range.
class Reader {
 public:
  Reader(const char *data, size_t size, const std::string &path)
      : data_(data), size_(size), path_(path) {}

  template <class T>
  T Read(const char *what) {
    Need(sizeof(T), what);
    T value;
    std::memcpy(&value, data_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return value;
  }
  std::string ReadString(const char *what) {
    int32_t n = Read<int32_t>(what);
    if (n < 0 || n > (1 << 20)) Fail(std::string("corrupt ") + what);
    Need(n, what);
    std::string s(data_ + pos_, n);
    pos_ += n;
    return s;
  }
  void SkipSymbolTable() {
    if (Read<int32_t>("symbol table") != kSymbolTableMagic) Fail("corrupt symbol table");
    ReadString("symbol table name");
    Read<int64_t>("symbol table");
    int64_t n = Read<int64_t>("symbol table size");
    if (n < 0) Fail("corrupt symbol table");
    for (int64_t i = 0; i < n; ++i) {
      ReadString("symbol");
      Read<int64_t>("symbol key");
    }
  }
  void Align() { pos_ = (pos_ + kFileAlign - 1) / kFileAlign * kFileAlign; }
  void Need(size_t n, const char *what) const {
    if (pos_ + n > size_ || pos_ + n < pos_)
      Fail(std::string("truncated file (while reading ") + what + ")");
  }
  [[noreturn]] void Fail(const std::string &msg) const { throw GraphError(path_ + ": " + msg); }
  size_t pos() const { return pos_; }
  void Skip(size_t n, const char *what) {
    Need(n, what);
    pos_ += n;
  }
  const char *here() const { return data_ + pos_; }

 private:
  const char *data_;
  size_t size_;
  size_t pos_ = 0;
  const std::string &path_;
};

}  // namespace

Graph::Graph(const std::string &path) : path_(path) {
  int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) throw GraphError(path + ": cannot open: " + std::strerror(errno));
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    throw GraphError(path + ": cannot stat");
  }
  map_size_ = static_cast<size_t>(st.st_size);
  if (map_size_ == 0) {
    ::close(fd);
    throw GraphError(path + ": empty file, not an OpenFst binary");
  }
  map_ = ::mmap(nullptr, map_size_, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (map_ == MAP_FAILED) {
    map_ = nullptr;
    throw GraphError(path + ": cannot memory-map");
  }
  const char *data = static_cast<const char *>(map_);
  try {
    Reader r(data, map_size_, path_);
    if (r.Read<int32_t>("header") != kFstMagic)
      r.Fail("not an OpenFst binary (bad magic number)");
    fst_type_ = r.ReadString("fst type");
    std::string arc_type = r.ReadString("arc type");
    if (arc_type != "standard")
      r.Fail("arc type '" + arc_type + "' is not supported (need 'standard': tropical float)");
    int32_t version = r.Read<int32_t>("version");
    int32_t flags = r.Read<int32_t>("flags");
    r.Read<uint64_t>("properties");
    int64_t start = r.Read<int64_t>("start");
    num_states_ = r.Read<int64_t>("num_states");
    num_arcs_ = r.Read<int64_t>("num_arcs");
    if (flags & kHasInputSymbols) r.SkipSymbolTable();
    if (flags & kHasOutputSymbols) r.SkipSymbolTable();
    if (num_states_ < 0 || num_states_ >= std::numeric_limits<int32_t>::max())
      r.Fail("bad number of states " + std::to_string(num_states_));
    if (start < -1 || start >= num_states_) r.Fail("bad start state " + std::to_string(start));
    start_ = static_cast<int32_t>(start);
    if (fst_type_ == "vector") {
      if (version < 2) r.Fail("vector FST version " + std::to_string(version) + " not supported");
      ReadVector(data, map_size_, r.pos());
    } else if (fst_type_ == "const") {
      if (version < 2) r.Fail("const FST version " + std::to_string(version) + " not supported");
      ReadConst(data, map_size_, r.pos(), flags & kIsAligned);
    } else {
      r.Fail("FST type '" + fst_type_ + "' is not supported (need vector or const)");
    }
    Validate();
  } catch (...) {
    if (map_) ::munmap(map_, map_size_);
    map_ = nullptr;
    throw;
  }
  if (!mapped_states_) {  // converted into own arrays: the file is no longer needed
    ::munmap(map_, map_size_);
    map_ = nullptr;
  }
}

Graph::~Graph() {
  if (map_) ::munmap(map_, map_size_);
}

void Graph::ReadVector(const char *data, size_t size, size_t offset) {
  Reader r(data, size, path_);
  r.Skip(offset, "header");
  own_states_.resize(num_states_);
  // Arcs are not counted in a vector header: grow as we go (reserve from the file size).
  own_arcs_.clear();
  own_arcs_.reserve((size - offset) / sizeof(Arc));
  std::vector<Arc> emitting;
  for (int64_t s = 0; s < num_states_; ++s) {
    GraphState &st = own_states_[s];
    st.final_cost = r.Read<float>("final weight");
    int64_t n = r.Read<int64_t>("arc count");
    if (n < 0 || static_cast<uint64_t>(n) * sizeof(Arc) > size - r.pos())
      r.Fail("truncated file (state " + std::to_string(s) + " claims " + std::to_string(n) +
             " arcs)");
    st.first_arc = static_cast<uint32_t>(own_arcs_.size());
    st.num_arcs = static_cast<uint32_t>(n);
    st.num_input_eps = st.num_output_eps = 0;
    emitting.clear();
    const Arc *in = reinterpret_cast<const Arc *>(r.here());
    for (int64_t i = 0; i < n; ++i) {
      Arc a;
      std::memcpy(&a, in + i, sizeof(Arc));
      if (a.ilabel == 0) {
        own_arcs_.push_back(a);
        ++st.num_input_eps;
      } else {
        emitting.push_back(a);
      }
      if (a.olabel == 0) ++st.num_output_eps;
    }
    own_arcs_.insert(own_arcs_.end(), emitting.begin(), emitting.end());
    r.Skip(n * sizeof(Arc), "arcs");
    if (own_arcs_.size() > std::numeric_limits<uint32_t>::max()) r.Fail("too many arcs");
  }
  num_arcs_ = static_cast<int64_t>(own_arcs_.size());
  states_ = own_states_.data();
  arcs_ = own_arcs_.data();
}

void Graph::ReadConst(const char *data, size_t size, size_t offset, bool aligned) {
  Reader r(data, size, path_);
  r.Skip(offset, "header");
  if (num_arcs_ < 0 || num_arcs_ > std::numeric_limits<uint32_t>::max())
    r.Fail("bad number of arcs " + std::to_string(num_arcs_));
  if (aligned) r.Align();
  size_t states_at = r.pos();
  r.Skip(num_states_ * sizeof(GraphState), "states");
  if (aligned) r.Align();
  size_t arcs_at = r.pos();
  r.Skip(num_arcs_ * sizeof(Arc), "arcs");
  const GraphState *file_states = reinterpret_cast<const GraphState *>(data + states_at);
  const Arc *file_arcs = reinterpret_cast<const Arc *>(data + arcs_at);
  bool in_place = states_at % alignof(GraphState) == 0 && arcs_at % alignof(Arc) == 0;
  // Check that each state's input-epsilon arcs come first (true for an ilabel-sorted graph).
  bool eps_first = true;
  for (int64_t s = 0; s < num_states_ && eps_first; ++s) {
    GraphState st;
    std::memcpy(&st, file_states + s, sizeof st);
    if (static_cast<uint64_t>(st.first_arc) + st.num_arcs > static_cast<uint64_t>(num_arcs_))
      r.Fail("state " + std::to_string(s) + " points past the arc array");
    if (st.num_input_eps > st.num_arcs) r.Fail("corrupt state " + std::to_string(s));
    for (uint32_t i = 0; i < st.num_arcs; ++i) {
      int32_t ilabel;
      std::memcpy(&ilabel, reinterpret_cast<const char *>(file_arcs + st.first_arc + i),
                  sizeof ilabel);
      if ((ilabel == 0) != (i < st.num_input_eps)) {
        eps_first = false;
        break;
      }
    }
  }
  if (in_place && eps_first) {
    mapped_states_ = file_states;
    states_ = file_states;
    arcs_ = file_arcs;
    return;
  }
  own_states_.resize(num_states_);
  own_arcs_.resize(num_arcs_);
  std::memcpy(own_states_.data(), file_states, num_states_ * sizeof(GraphState));
  std::memcpy(own_arcs_.data(), file_arcs, num_arcs_ * sizeof(Arc));
  for (auto &st : own_states_) {
    if (static_cast<uint64_t>(st.first_arc) + st.num_arcs > static_cast<uint64_t>(num_arcs_))
      r.Fail("a state points past the arc array");
    Arc *begin = own_arcs_.data() + st.first_arc;
    Arc *mid = std::stable_partition(begin, begin + st.num_arcs,
                                     [](const Arc &a) { return a.ilabel == 0; });
    st.num_input_eps = static_cast<uint32_t>(mid - begin);
  }
  states_ = own_states_.data();
  arcs_ = own_arcs_.data();
}

void Graph::Validate() {
  if (start_ < 0) throw GraphError(path_ + ": the graph has no start state (empty FST)");
  bool any_final = false;
  int32_t max_i = 0, max_o = 0;
  for (int64_t s = 0; s < num_states_; ++s) {
    const GraphState &st = states_[s];
    if (std::isnan(st.final_cost)) throw GraphError(path_ + ": NaN final weight");
    if (st.final_cost != std::numeric_limits<float>::infinity()) any_final = true;
    const Arc *a = arcs_ + st.first_arc;
    for (uint32_t i = 0; i < st.num_arcs; ++i) {
      if (a[i].nextstate < 0 || a[i].nextstate >= num_states_)
        throw GraphError(path_ + ": arc of state " + std::to_string(s) +
                         " leads to a state that does not exist (" +
                         std::to_string(a[i].nextstate) + ")");
      if (a[i].ilabel < 0 || a[i].olabel < 0)
        throw GraphError(path_ + ": negative label on an arc of state " + std::to_string(s));
      if (std::isnan(a[i].weight)) throw GraphError(path_ + ": NaN arc weight");
      max_i = std::max(max_i, a[i].ilabel);
      max_o = std::max(max_o, a[i].olabel);
    }
  }
  if (!any_final) throw GraphError(path_ + ": the graph has no final state");
  max_ilabel_ = max_i;
  max_olabel_ = max_o;
}

}  // namespace tingxie
