#include "arpa_read.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <unordered_map>

#include "corpus.h"

namespace tingxie {
namespace lm {
namespace {

inline bool IsBlank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v'; }

std::string_view Strip(std::string_view s) {
  while (!s.empty() && IsBlank(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsBlank(s.back())) s.remove_suffix(1);
  return s;
}

std::string Quote(std::string_view s) { return "'" + std::string(s) + "'"; }

class Lines {
 public:
  Lines(std::string_view text, const std::string &path) : text_(text), path_(path) {}
  // Next line without its newline; false at the end of the text.
  bool Next(std::string_view *line) {
    if (pos_ >= text_.size()) return false;
    size_t end = text_.find('\n', pos_);
    if (end == std::string_view::npos) end = text_.size();
    *line = text_.substr(pos_, end - pos_);
    pos_ = end + 1;
    ++number_;
    return true;
  }
  long number() const { return number_; }
  size_t offset() const { return pos_ < text_.size() ? pos_ : text_.size(); }
  [[noreturn]] void Fail(const std::string &message, long line) const { throw InputError(message, path_, line); }
  [[noreturn]] void Fail(const std::string &message) const { Fail(message, number_); }

 private:
  std::string_view text_;
  const std::string &path_;
  size_t pos_ = 0;
  long number_ = 0;
};

struct StringViewHash {
  size_t operator()(std::string_view s) const { return HashString(s.data(), s.size()); }
};

float ParseNumber(std::string_view field, const char *what, const Lines &lines) {
  float value = 0.0f;
  const char *begin = field.data(), *end = begin + field.size();
  if (begin < end && *begin == '+') ++begin;  // from_chars rejects a leading '+'
  auto result = std::from_chars(begin, end, value);
  if (result.ec == std::errc::result_out_of_range) {
    // Too small or large for float32: let strtof round it (to 0 or +-inf) as a reader would.
    value = std::strtof(std::string(field).c_str(), nullptr);
  } else if (result.ec != std::errc() || result.ptr != end || field.empty()) {
    lines.Fail(std::string(what) + " " + Quote(field) + " is not a number");
  }
  if (std::isnan(value)) lines.Fail(std::string(what) + " is NaN");
  return value;
}

// Parses "ngram K=N" (spaces allowed around '='); false if the line has another shape.
bool ParseCountLine(std::string_view s, long *order, long *count) {
  if (s.substr(0, 5) != "ngram" || s.size() < 6 || !IsBlank(s[5])) return false;
  s.remove_prefix(5);
  s = Strip(s);
  size_t eq = s.find('=');
  if (eq == std::string_view::npos) return false;
  std::string_view left = Strip(s.substr(0, eq)), right = Strip(s.substr(eq + 1));
  auto digits = [](std::string_view d, long *out) {
    if (d.empty() || d.size() > 15) return false;
    long v = 0;
    for (char c : d) {
      if (c < '0' || c > '9') return false;
      v = v * 10 + (c - '0');
    }
    *out = v;
    return true;
  };
  return digits(left, order) && digits(right, count);
}

// "\K-grams:" -> K, else 0.
long SectionOrder(std::string_view s) {
  if (s.size() < 9 || s[0] != '\\' || s.substr(s.size() - 7) != "-grams:") return 0;
  std::string_view d = s.substr(1, s.size() - 8);
  if (d.empty() || d.size() > 6) return 0;
  long v = 0;
  for (char c : d) {
    if (c < '0' || c > '9') return 0;
    v = v * 10 + (c - '0');
  }
  return v;
}

}  // namespace

ParsedArpa ParseArpa(std::string_view text, const std::string &path) {
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);  // a UTF-8 byte-order mark
  // Reject invalid UTF-8 up front, naming the line.
  {
    const unsigned char *p = reinterpret_cast<const unsigned char *>(text.data());
    const unsigned char *end = p + text.size();
    long line = 1;
    for (const unsigned char *q = p; q < end;) {
      if (*q < 0x80) {
        line += *q == '\n';
        ++q;
        continue;
      }
      int length = Utf8CharLength(q, end - q);
      if (!length) throw InputError("not valid UTF-8", path, line);
      q += length;
    }
  }
  Lines lines(text, path);
  std::string_view line;
  bool found_data = false;
  while (lines.Next(&line)) {
    if (Strip(line) == "\\data\\") {
      found_data = true;
      break;
    }
  }
  if (!found_data) throw InputError("no \\data\\ section: not an ARPA file", path);
  std::vector<long> declared;
  while (lines.Next(&line)) {
    std::string_view s = Strip(line);
    if (s.empty()) {
      if (!declared.empty()) break;
      continue;
    }
    long order, count;
    if (!ParseCountLine(s, &order, &count)) {
      if (SectionOrder(s) && !declared.empty()) lines.Fail("expected a blank line after the \\data\\ counts");
      lines.Fail("expected 'ngram K=N' in \\data\\, got " + Quote(s));
    }
    if (order != static_cast<long>(declared.size()) + 1)
      lines.Fail("'ngram " + std::to_string(order) + "=' out of order in \\data\\");
    declared.push_back(count);
  }
  if (declared.empty()) throw InputError("\\data\\ declares no n-gram counts", path);
  const long max_order = declared.size();
  if (max_order > kMaxOrder) throw InputError("orders above 6 are not supported", path);

  ParsedArpa out;
  std::unordered_map<std::string_view, int32_t, StringViewHash> word_id;
  long expect = 1;
  bool seen_end = false;
  std::vector<std::string_view> fields;
  while (lines.Next(&line)) {
    std::string_view s = Strip(line);
    if (s.empty()) continue;
    if (s == "\\end\\") {
      seen_end = true;
      break;
    }
    if (SectionOrder(s) != expect) lines.Fail("expected '\\" + std::to_string(expect) + "-grams:', got " + Quote(s));
    const long order = expect, n = declared[order - 1];
    std::vector<int32_t> ids;
    std::vector<float> logprob, backoff;
    // Reserve no more than the rest of the file can hold (a line is at least "p w\n" per
    // word), whatever the header declares: `ngram 1=999999999999999` is a mismatch to
    // report, not an allocation to attempt.
    const long can_hold = static_cast<long>((text.size() - lines.offset()) / (2 * order + 1)) + 1;
    const long reserve = std::min(n, can_hold);
    ids.reserve(reserve * order);
    logprob.reserve(reserve);
    backoff.reserve(reserve);
    long row = 0;
    long end_line = lines.number() + 1;
    bool ended_by_blank = false;
    while (lines.Next(&line)) {
      fields.clear();
      const char *p = line.data(), *e = p + line.size();
      while (p < e) {
        while (p < e && IsBlank(*p)) ++p;
        const char *start = p;
        while (p < e && !IsBlank(*p)) ++p;
        if (p > start) fields.emplace_back(start, p - start);
      }
      if (fields.empty()) {
        end_line = lines.number();
        ended_by_blank = true;
        break;
      }
      if (row == n)
        lines.Fail("more " + std::to_string(order) + "-grams than the " + std::to_string(n) + " declared in \\data\\");
      bool has_backoff;
      if (static_cast<long>(fields.size()) == order + 1) has_backoff = false;
      else if (static_cast<long>(fields.size()) == order + 2) has_backoff = true;
      else
        lines.Fail("a " + std::to_string(order) + "-gram line needs " + std::to_string(order + 1) + " or " +
                   std::to_string(order + 2) + " fields, got " + std::to_string(fields.size()));
      float lp = ParseNumber(fields[0], "probability", lines);
      if (lp > 0) lines.Fail("log10 probability " + std::string(fields[0]) + " is positive");
      float bo = 0.0f;
      if (has_backoff) {
        if (order == max_order)
          lines.Fail("back-off weight on a " + std::to_string(order) + "-gram of the highest order");
        bo = ParseNumber(fields[order + 1], "back-off weight", lines);
        if (std::isinf(bo))  // as KenLM ("Bad backoff"): no finite model has one
          lines.Fail("back-off weight " + std::string(fields[order + 1]) + " is infinite");
      }
      if (order == 1) {
        std::string_view word = fields[1];
        if (word_id.count(word)) lines.Fail("unigram " + Quote(word) + " listed twice");
        int32_t id = static_cast<int32_t>(out.vocab.size());
        word_id.emplace(word, id);
        out.vocab.emplace_back(word);
        ids.push_back(id);
      } else {
        for (long j = 1; j <= order; ++j) {
          auto it = word_id.find(fields[j]);
          if (it == word_id.end()) lines.Fail("word " + Quote(fields[j]) + " is not among the unigrams");
          ids.push_back(it->second);
        }
      }
      logprob.push_back(lp);
      backoff.push_back(bo);
      ++row;
    }
    if (!ended_by_blank) end_line = lines.number() + 1;
    if (row != n)
      throw InputError("\\data\\ declares " + std::to_string(n) + " " + std::to_string(order) +
                           "-grams but the section has " + std::to_string(row), path, end_line);
    out.ids.push_back(std::move(ids));
    out.logprob.push_back(std::move(logprob));
    out.backoff.push_back(std::move(backoff));
    ++expect;
    if (expect > max_order) {
      while (lines.Next(&line)) {
        std::string_view t = Strip(line);
        if (t == "\\end\\") {
          seen_end = true;
          break;
        }
        if (!t.empty()) lines.Fail("expected '\\end\\', got " + Quote(t));
      }
      break;
    }
  }
  if (static_cast<long>(out.ids.size()) != max_order)
    throw InputError("file ends before the \\" + std::to_string(out.ids.size() + 1) + "-grams: section", path);
  if (!seen_end) throw InputError("missing '\\end\\' (truncated file?)", path);
  return out;
}

}  // namespace lm
}  // namespace tingxie
