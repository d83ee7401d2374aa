//===- Expected.h - A value or an error message -----------------*- C++ -*-===//
//
// Errors are values with messages (never aborts). This small type keeps the
// frontend, the reference and the .npy reader free of LLVM.
//
//===----------------------------------------------------------------------===//
#ifndef ATTN_SUPPORT_EXPECTED_H
#define ATTN_SUPPORT_EXPECTED_H

#include <string>
#include <utility>
#include <variant>

namespace attn {

struct Error {
  std::string message;
};

template <typename T> class Expected {
public:
  Expected(T value) : storage_(std::move(value)) {}
  Expected(Error error) : storage_(std::move(error)) {}
  explicit operator bool() const { return storage_.index() == 0; }
  T &operator*() { return std::get<0>(storage_); }
  const T &operator*() const { return std::get<0>(storage_); }
  T *operator->() { return &std::get<0>(storage_); }
  const T *operator->() const { return &std::get<0>(storage_); }
  const std::string &error() const { return std::get<1>(storage_).message; }
  Error takeError() { return std::get<1>(std::move(storage_)); }

private:
  std::variant<T, Error> storage_;
};

} // namespace attn

#endif // ATTN_SUPPORT_EXPECTED_H
