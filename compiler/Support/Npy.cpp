//===- Npy.cpp - Reading and writing NumPy .npy files ----------------------===//
#include "compiler/Support/Npy.h"

#include <cctype>
#include <cstring>
#include <fstream>
#include <sstream>

namespace attn {

int64_t NpyArray::numElements() const {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

namespace {

/// A parser for the Python dict literal in a .npy header, e.g.
/// {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
class HeaderParser {
public:
  HeaderParser(const std::string &text, const std::string &what)
      : s_(text), what_(what) {}

  Expected<bool> parse(std::string &descr, bool &fortran,
                       std::vector<int64_t> &shape) {
    bool haveDescr = false, haveFortran = false, haveShape = false;
    skip();
    if (!eat('{'))
      return err("header is not a dict");
    while (true) {
      skip();
      if (eat('}'))
        break;
      std::string key;
      if (!parseString(key))
        return err("malformed header key");
      skip();
      if (!eat(':'))
        return err("expected ':' in header");
      skip();
      if (key == "descr") {
        if (!parseString(descr))
          return err("'descr' must be a string");
        haveDescr = true;
      } else if (key == "fortran_order") {
        if (word("True"))
          fortran = true;
        else if (word("False"))
          fortran = false;
        else
          return err("'fortran_order' must be True or False");
        haveFortran = true;
      } else if (key == "shape") {
        if (!parseShape(shape))
          return err("malformed 'shape'");
        haveShape = true;
      } else {
        return err("unexpected header key '" + key + "'");
      }
      skip();
      if (eat('}'))
        break;
      if (!eat(','))
        return err("expected ',' or '}' in header");
    }
    skip();
    if (pos_ != s_.size())
      return err("trailing characters after the header dict");
    if (!haveDescr || !haveFortran || !haveShape)
      return err("header lacks 'descr', 'fortran_order' or 'shape'");
    return true;
  }

private:
  Error err(const std::string &msg) { return Error{what_ + ": " + msg}; }
  void skip() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\n' ||
                                s_[pos_] == '\t' || s_[pos_] == '\r'))
      ++pos_;
  }
  bool eat(char c) {
    if (pos_ < s_.size() && s_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  bool word(const char *w) {
    size_t n = std::strlen(w);
    if (s_.compare(pos_, n, w) != 0)
      return false;
    pos_ += n;
    return true;
  }
  bool parseString(std::string &out) {
    if (pos_ >= s_.size() || (s_[pos_] != '\'' && s_[pos_] != '"'))
      return false;
    char quote = s_[pos_++];
    size_t end = s_.find(quote, pos_);
    if (end == std::string::npos)
      return false;
    out = s_.substr(pos_, end - pos_);
    pos_ = end + 1;
    return true;
  }
  bool parseShape(std::vector<int64_t> &shape) {
    if (!eat('('))
      return false;
    while (true) {
      skip();
      if (eat(')'))
        return true;
      if (pos_ >= s_.size() || !std::isdigit(static_cast<unsigned char>(s_[pos_])))
        return false;
      int64_t v = 0;
      while (pos_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[pos_]))) {
        v = v * 10 + (s_[pos_++] - '0');
        if (v > (int64_t(1) << 40))
          return false; // no real array has such a dimension
      }
      if (pos_ < s_.size() && s_[pos_] == 'L')
        ++pos_; // Python 2 long suffix
      shape.push_back(v);
      skip();
      if (eat(')'))
        return true;
      if (!eat(','))
        return false;
    }
  }

  std::string s_; // a copy: the caller passes a temporary
  std::string what_;
  size_t pos_ = 0;
};

} // namespace

Expected<NpyArray> parseNpy(const std::string &bytes, const std::string &what) {
  static const char kMagic[] = "\x93NUMPY";
  if (bytes.size() < 10 || bytes.compare(0, 6, kMagic, 6) != 0)
    return Error{what + ": not a .npy file (bad magic)"};
  unsigned major = static_cast<unsigned char>(bytes[6]);
  size_t headerLen, headerStart;
  auto byteAt = [&](size_t i) { return static_cast<size_t>(static_cast<unsigned char>(bytes[i])); };
  if (major == 1) {
    headerLen = byteAt(8) | byteAt(9) << 8;
    headerStart = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12)
      return Error{what + ": truncated header"};
    headerLen = byteAt(8) | byteAt(9) << 8 | byteAt(10) << 16 | byteAt(11) << 24;
    headerStart = 12;
  } else {
    return Error{what + ": unsupported .npy format version " + std::to_string(major)};
  }
  if (headerLen > bytes.size() - headerStart)
    return Error{what + ": truncated header"};

  std::string descr;
  bool fortran = false;
  NpyArray array;
  HeaderParser parser(bytes.substr(headerStart, headerLen), what);
  Expected<bool> parsed = parser.parse(descr, fortran, array.shape);
  if (!parsed)
    return parsed.takeError();
  if (fortran)
    return Error{what + ": Fortran-order arrays are not supported; save a C-order array"};
  if (descr == "<f4")
    array.dtype = NpyArray::DType::F32;
  else if (descr == "<i4")
    array.dtype = NpyArray::DType::I32;
  else
    return Error{what + ": unsupported dtype '" + descr +
                 "'; expected float32 ('<f4') or int32 ('<i4')"};

  size_t dataStart = headerStart + headerLen;
  size_t available = bytes.size() - dataStart;
  // Each dimension is at most 2^40; stop multiplying once past what is there.
  unsigned __int128 count = 1;
  for (int64_t d : array.shape) {
    count *= static_cast<uint64_t>(d);
    if (count > available)
      count = static_cast<unsigned __int128>(available) + 1;
  }
  unsigned __int128 need = count * 4;
  if (need > available)
    return Error{what + ": the file is truncated: its shape needs more than the " +
                 std::to_string(available) + " bytes of data it holds"};
  if (need < available)
    return Error{what + ": " + std::to_string(available - static_cast<size_t>(need)) +
                 " unexpected bytes after the data"};
  size_t n = static_cast<size_t>(count);
  if (n == 0) // an empty vector's data() may be null: memcpy must not see it
    return array;
  if (array.dtype == NpyArray::DType::F32) {
    array.f32.resize(n);
    std::memcpy(array.f32.data(), bytes.data() + dataStart, n * 4);
  } else {
    array.i32.resize(n);
    std::memcpy(array.i32.data(), bytes.data() + dataStart, n * 4);
  }
  return array;
}

Expected<NpyArray> readNpyFile(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return Error{path + ": cannot open file"};
  std::stringstream ss;
  ss << in.rdbuf();
  return parseNpy(ss.str(), path);
}

std::string serializeNpy(const std::vector<int64_t> &shape,
                         const std::vector<float> &data) {
  std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (";
  for (size_t d = 0; d < shape.size(); ++d)
    dict += std::to_string(shape[d]) + (shape.size() == 1 ? "," : d + 1 < shape.size() ? ", " : "");
  dict += "), }";
  // Pad with spaces so that the data starts on a 64-byte boundary.
  size_t total = 10 + dict.size() + 1;
  dict += std::string((64 - total % 64) % 64, ' ') + "\n";
  std::string out("\x93NUMPY\x01\x00", 8);
  out += static_cast<char>(dict.size() & 0xff);
  out += static_cast<char>(dict.size() >> 8);
  out += dict;
  out.append(reinterpret_cast<const char *>(data.data()), data.size() * 4);
  return out;
}

Expected<bool> writeNpyFile(const std::string &path,
                            const std::vector<int64_t> &shape,
                            const std::vector<float> &data) {
  std::ofstream out(path, std::ios::binary);
  if (!out)
    return Error{path + ": cannot open for writing"};
  std::string bytes = serializeNpy(shape, data);
  out.write(bytes.data(), bytes.size());
  if (!out)
    return Error{path + ": write failed"};
  return true;
}

} // namespace attn
