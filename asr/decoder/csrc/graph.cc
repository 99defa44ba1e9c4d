#include "graph.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <cstdint>
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
  map_ = ::mmap(nullptr, map_size_, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
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
    properties_ = r.Read<uint64_t>("properties");
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

// Reorders one state's arcs so that input-epsilon arcs come first (stable); returns their
// number. Already-ordered states (every ilabel-sorted graph) cost one scan.
static uint32_t EpsilonsFirst(Arc *arcs, uint32_t n, std::vector<Arc> *scratch,
                              bool *reordered) {
  uint32_t eps = 0;
  while (eps < n && arcs[eps].ilabel == 0) ++eps;
  uint32_t i = eps;
  while (i < n && arcs[i].ilabel != 0) ++i;
  if (i == n) return eps;  // already ordered
  *reordered = true;
  scratch->clear();
  for (uint32_t k = eps; k < n; ++k) {
    if (arcs[k].ilabel == 0)
      arcs[eps++] = arcs[k];
    else
      scratch->push_back(arcs[k]);
  }
  std::copy(scratch->begin(), scratch->end(), arcs + eps);
  return eps;
}

void Graph::ReadVector(const char *data, size_t size, size_t offset) {
  Reader r(data, size, path_);
  r.Skip(offset, "header");
  // Pass 1: walk the states to count the arcs (a vector header does not count them).
  const size_t body = r.pos();
  uint64_t total_arcs = 0;
  for (int64_t s = 0; s < num_states_; ++s) {
    r.Read<float>("final weight");
    int64_t n = r.Read<int64_t>("arc count");
    if (n < 0 || static_cast<uint64_t>(n) > (size - r.pos()) / sizeof(Arc))
      r.Fail("truncated file (state " + std::to_string(s) + " claims " + std::to_string(n) +
             " arcs)");
    r.Skip(n * sizeof(Arc), "arcs");
    total_arcs += n;
  }
  if (total_arcs > std::numeric_limits<uint32_t>::max()) r.Fail("too many arcs");
  // Pass 2: copy.
  own_states_.resize(num_states_);
  own_arcs_.resize(total_arcs);
  const char *p = data + body;
  uint32_t next_arc = 0;
  std::vector<Arc> scratch;
  for (int64_t s = 0; s < num_states_; ++s) {
    GraphState &st = own_states_[s];
    std::memcpy(&st.final_cost, p, sizeof(float));
    int64_t n;
    std::memcpy(&n, p + sizeof(float), sizeof n);
    p += sizeof(float) + sizeof n;
    Arc *dst = own_arcs_.data() + next_arc;
    std::memcpy(dst, p, n * sizeof(Arc));
    p += n * sizeof(Arc);
    st.first_arc = next_arc;
    st.num_arcs = static_cast<uint32_t>(n);
    st.num_input_eps = EpsilonsFirst(dst, st.num_arcs, &scratch, &reordered_);
    st.num_output_eps = 0;
    next_arc += st.num_arcs;
  }
  num_arcs_ = static_cast<int64_t>(total_arcs);
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
  const bool in_place = reinterpret_cast<uintptr_t>(data + states_at) % alignof(GraphState) == 0 &&
                        reinterpret_cast<uintptr_t>(data + arcs_at) % alignof(Arc) == 0;
  if (in_place) {
    // Use the mapped arrays as they are if every state is sound and has its
    // input-epsilon arcs first (true for an ilabel-sorted graph).
    const GraphState *states = reinterpret_cast<const GraphState *>(data + states_at);
    const Arc *arcs = reinterpret_cast<const Arc *>(data + arcs_at);
    bool ordered = true;
    for (int64_t s = 0; s < num_states_ && ordered; ++s) {
      const GraphState &st = states[s];
      if (static_cast<uint64_t>(st.first_arc) + st.num_arcs > static_cast<uint64_t>(num_arcs_))
        r.Fail("state " + std::to_string(s) + " points past the arc array");
      const Arc *a = arcs + st.first_arc;
      uint32_t eps = 0;
      while (eps < st.num_arcs && a[eps].ilabel == 0) ++eps;
      for (uint32_t i = eps; i < st.num_arcs && ordered; ++i) ordered = a[i].ilabel != 0;
      ordered = ordered && eps == st.num_input_eps;
    }
    if (ordered) {
      mapped_states_ = states;
      states_ = states;
      arcs_ = arcs;
      return;
    }
  }
  // Unaligned in the file (OpenFst writes const FSTs unaligned unless asked), or not
  // ordered: copy into own arrays.
  own_states_.resize(num_states_);
  own_arcs_.resize(num_arcs_);
  std::memcpy(own_states_.data(), data + states_at, num_states_ * sizeof(GraphState));
  std::memcpy(own_arcs_.data(), data + arcs_at, num_arcs_ * sizeof(Arc));
  std::vector<Arc> scratch;
  for (int64_t s = 0; s < num_states_; ++s) {
    GraphState &st = own_states_[s];
    if (static_cast<uint64_t>(st.first_arc) + st.num_arcs > static_cast<uint64_t>(num_arcs_))
      r.Fail("state " + std::to_string(s) + " points past the arc array");
    st.num_input_eps = EpsilonsFirst(own_arcs_.data() + st.first_arc, st.num_arcs, &scratch,
                                     &reordered_);
  }
  states_ = own_states_.data();
  arcs_ = own_arcs_.data();
}

void Graph::Validate() {
  if (start_ < 0) throw GraphError(path_ + ": the graph has no start state (empty FST)");
  bool any_final = false;
  int32_t max_i = 0, max_o = 0;
  has_eps_.assign((num_states_ + 63) / 64, 0);
  for (int64_t s = 0; s < num_states_; ++s) {
    const GraphState &st = states_[s];
    if (st.num_input_eps) has_eps_[s >> 6] |= uint64_t{1} << (s & 63);
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
  ranges_.clear();
  bool fits = num_arcs_ < (int64_t{1} << 32);
  for (int64_t s = 0; fits && s < num_states_; ++s) fits = states_[s].num_arcs < 65536;
  if (fits) {
    ranges_.resize(num_states_);
    for (int64_t s = 0; s < num_states_; ++s)
      ranges_[s] = ArcRange{states_[s].first_arc, static_cast<uint16_t>(states_[s].num_input_eps),
                            static_cast<uint16_t>(states_[s].num_arcs)};
  }
  max_ilabel_ = max_i;
  max_olabel_ = max_o;
}

void Graph::WriteAlignedConst(const std::string &path) const {
  FILE *f = std::fopen(path.c_str(), "wb");
  if (!f) throw GraphError(path + ": cannot open for writing: " + std::strerror(errno));
  size_t written = 0;
  bool ok = true;
  auto put = [&](const void *p, size_t n) {
    ok &= std::fwrite(p, 1, n, f) == n;
    written += n;
  };
  auto put_str = [&](const std::string &s) {
    int32_t n = static_cast<int32_t>(s.size());
    put(&n, 4);
    put(s.data(), s.size());
  };
  auto align = [&]() {
    static const char zeros[kFileAlign] = {};
    put(zeros, (kFileAlign - written % kFileAlign) % kFileAlign);
  };
  const int32_t magic = kFstMagic, version = 2, flags = kIsAligned;
  // Arcs were reordered (input epsilons first) only if the graph was not ilabel-sorted; then
  // claim no properties beyond kExpanded rather than stale ones.
  const uint64_t properties = reordered_ ? 0x1ULL : properties_;
  const int64_t start = start_, num_states = num_states_, num_arcs = num_arcs_;
  put(&magic, 4);
  put_str("const");
  put_str("standard");
  put(&version, 4);
  put(&flags, 4);
  put(&properties, 8);
  put(&start, 8);
  put(&num_states, 8);
  put(&num_arcs, 8);
  align();
  put(states_, num_states_ * sizeof(GraphState));
  align();
  put(arcs_, num_arcs_ * sizeof(Arc));
  ok &= std::fclose(f) == 0;
  if (!ok) throw GraphError(path + ": write failed");
}

}  // namespace tingxie
