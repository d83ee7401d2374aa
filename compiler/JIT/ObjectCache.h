//===- ObjectCache.h - Compiled kernels on disk -----------------*- C++ -*-===//
//
// One file per kernel, named by a SHA-256 key of everything that decides the
// code. Each entry carries its own SHA-256, is written to a temporary file
// and renamed into place (readers never see half a file), and is ignored when
// corrupted, truncated, or owned by another user. The folder is created
// private (0700). An unwritable folder only means no caching.
//
//===----------------------------------------------------------------------===//
#ifndef ATTN_JIT_OBJECTCACHE_H
#define ATTN_JIT_OBJECTCACHE_H

#include "attn/Signature.h"

#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

namespace attn {

struct CachedKernel {
  KernelSignature signature;
  std::vector<std::string> objects; // ELF objects: the kernel's code, split over several (SplitCodeGen.h)
};

std::string resolveCacheDir(const std::string &configured);
std::string cacheKey(std::initializer_list<std::string> parts);
std::string scheduleKey(const Schedule &schedule);

class ObjectCache {
public:
  /// An empty folder disables the cache.
  explicit ObjectCache(std::string dir) : dir_(std::move(dir)) {}
  std::optional<CachedKernel> load(const std::string &key) const;
  /// Best effort: false when the entry could not be written.
  bool store(const std::string &key, const CachedKernel &entry) const;
  std::string pathOf(const std::string &key) const { return dir_ + "/" + key + ".attnobj"; }

  /// The schedule `attnc tune` chose for a kernel (see Compiler::tunedKey),
  /// kept beside the objects with the same checks.
  std::optional<Schedule> loadTuned(const std::string &key) const;
  bool storeTuned(const std::string &key, const Schedule &schedule) const;
  std::string tunedPathOf(const std::string &key) const { return dir_ + "/" + key + ".attntune"; }

private:
  /// An entry's body, when the file is this user's, not writable by others,
  /// and intact (magic, SHA-256 of the body).
  std::optional<std::string> readEntry(const std::string &path) const;
  /// Writes magic, SHA-256 and body to a temporary file renamed into place.
  bool writeEntry(const std::string &key, const std::string &path, const std::string &body) const;
  std::string dir_;
};

} // namespace attn

#endif // ATTN_JIT_OBJECTCACHE_H
