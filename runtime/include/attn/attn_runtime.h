/*===- attn_runtime.h - The C ABI between kernels and the runtime -*- C -*-===*
 *
 * Every generated kernel, JIT-compiled or linked ahead of time, has the entry
 * point type attn_kernel_fn. The runtime checks the arguments, fills `ptrs`
 * and `params` (their layout is attn::ParamLayout in Signature.h), splits the
 * work items [0, n) into ranges, and calls the kernel on each range from its
 * thread pool with a private scratch buffer.
 *
 * A kernel reports a data-dependent error (an index read from data that falls
 * outside a tensor) by storing ATTN_STATUS_OUT_OF_RANGE_BASE + the input's
 * position into *status; it never reads or writes out of bounds.
 *
 *===----------------------------------------------------------------------===*/
#ifndef ATTN_RUNTIME_H
#define ATTN_RUNTIME_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum attn_dtype {
  ATTN_F32 = 0,
  ATTN_BF16 = 1,
  ATTN_F16 = 2,
  ATTN_I32 = 3,
} attn_dtype;

#define ATTN_STATUS_OK 0
#define ATTN_STATUS_OUT_OF_RANGE_BASE 1000

typedef void (*attn_kernel_fn)(void *const *ptrs, const int64_t *params,
                               int64_t begin, int64_t end, void *scratch,
                               int64_t *status);

#ifdef __cplusplus
}
#endif

#endif /* ATTN_RUNTIME_H */
