//===- ObjectCache.cpp - Compiled kernels on disk --------------------------===//
#include "compiler/JIT/ObjectCache.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/SHA256.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

namespace attn {

static const char kMagic[8] = {'A', 'T', 'T', 'N', 'C', '0', '0', '2'}; // 002: objects in parts

static std::string hex(llvm::ArrayRef<uint8_t> bytes) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  for (uint8_t b : bytes) {
    out += digits[b >> 4];
    out += digits[b & 15];
  }
  return out;
}

static std::string sha256(const std::string &data) {
  auto digest = llvm::SHA256::hash(llvm::ArrayRef<uint8_t>(
      reinterpret_cast<const uint8_t *>(data.data()), data.size()));
  return std::string(digest.begin(), digest.end());
}

std::string cacheKey(std::initializer_list<std::string> parts) {
  llvm::SHA256 h;
  for (const std::string &p : parts) {
    std::string len = std::to_string(p.size()) + ":";
    h.update(llvm::StringRef(len));
    h.update(llvm::StringRef(p));
  }
  auto digest = h.final();
  return hex(llvm::ArrayRef<uint8_t>(digest.data(), digest.size()));
}

std::string scheduleKey(const Schedule &s) {
  return std::to_string(s.blockQ) + "x" + std::to_string(s.blockK) + "v" + std::to_string(s.vectorWidth) +
         (s.bf16Dot ? "bf16dot" : "") + (s.amx ? "amx" : "") + (s.precision != Precision::Highest ? precisionName(s.precision) : "");
}

std::string resolveCacheDir(const std::string &configured) {
  if (!configured.empty())
    return configured;
  if (const char *env = std::getenv("ATTN_CACHE_DIR"); env && *env)
    return env;
  if (const char *xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg)
    return std::string(xdg) + "/attn";
  if (const char *home = std::getenv("HOME"); home && *home)
    return std::string(home) + "/.cache/attn";
  return {};
}

std::optional<std::string> ObjectCache::readEntry(const std::string &path) const {
  if (dir_.empty())
    return std::nullopt;
  struct stat st;
  // Never load code (or a schedule) that another user could have written.
  if (::stat(path.c_str(), &st) != 0 || st.st_uid != ::geteuid() || (st.st_mode & 022))
    return std::nullopt;
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string data = ss.str();
  // magic, SHA-256 of the rest, the body
  if (data.size() < 40 || data.compare(0, 8, kMagic, 8) != 0)
    return std::nullopt;
  std::string body = data.substr(40);
  if (sha256(body) != data.substr(8, 32))
    return std::nullopt;
  return body;
}

std::optional<CachedKernel> ObjectCache::load(const std::string &key) const {
  // body: the signature and each object, each after its 8-byte length
  std::optional<std::string> body = readEntry(pathOf(key));
  if (!body)
    return std::nullopt;
  size_t at = 0;
  auto next = [&]() -> std::optional<std::string> {
    uint64_t len = 0;
    if (body->size() - at < 8)
      return std::nullopt;
    std::memcpy(&len, body->data() + at, 8);
    at += 8;
    if (len > body->size() - at)
      return std::nullopt;
    at += len;
    return body->substr(at - len, len);
  };
  std::optional<std::string> sigText = next();
  std::optional<KernelSignature> sig = sigText ? parseSignature(*sigText) : std::nullopt;
  if (!sig)
    return std::nullopt;
  CachedKernel entry{*sig, {}};
  while (at < body->size()) {
    std::optional<std::string> object = next();
    if (!object)
      return std::nullopt;
    entry.objects.push_back(std::move(*object));
  }
  if (entry.objects.empty())
    return std::nullopt;
  return entry;
}

std::optional<Schedule> ObjectCache::loadTuned(const std::string &key) const {
  std::optional<std::string> body = readEntry(tunedPathOf(key));
  if (!body)
    return std::nullopt;
  std::istringstream in(*body);
  std::string word;
  Schedule s = nativeSchedule();
  if (!(in >> word >> s.blockQ) || word != "blockQ" || s.blockQ < 1 || s.blockQ > 4096)
    return std::nullopt;
  return s;
}

bool ObjectCache::storeTuned(const std::string &key, const Schedule &schedule) const {
  return writeEntry(key, tunedPathOf(key), "blockQ " + std::to_string(schedule.blockQ) + "\n");
}

static bool ensurePrivateDir(const std::string &dir) {
  std::string partial;
  std::stringstream parts(dir);
  std::string part;
  if (!dir.empty() && dir[0] == '/')
    partial = "/";
  while (std::getline(parts, part, '/')) {
    if (part.empty())
      continue;
    partial += part + "/";
    if (::mkdir(partial.c_str(), 0700) != 0 && errno != EEXIST)
      return false;
  }
  struct stat st;
  return ::stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool ObjectCache::store(const std::string &key, const CachedKernel &entry) const {
  std::string body;
  auto append = [&](const std::string &part) {
    uint64_t len = part.size();
    body.append(reinterpret_cast<const char *>(&len), 8);
    body += part;
  };
  append(serializeSignature(entry.signature));
  for (const std::string &object : entry.objects)
    append(object);
  return writeEntry(key, pathOf(key), body);
}

bool ObjectCache::writeEntry(const std::string &key, const std::string &path, const std::string &body) const {
  if (dir_.empty() || !ensurePrivateDir(dir_))
    return false;
  std::string data(kMagic, 8);
  data += sha256(body);
  data += body;
  std::string tmp = dir_ + "/." + key + ".XXXXXX";
  int fd = ::mkstemp(tmp.data());
  if (fd < 0)
    return false;
  size_t written = 0;
  while (written < data.size()) {
    ssize_t n = ::write(fd, data.data() + written, data.size() - written);
    if (n <= 0)
      break;
    written += static_cast<size_t>(n);
  }
  bool ok = written == data.size() && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return false;
  }
  return true;
}

} // namespace attn
