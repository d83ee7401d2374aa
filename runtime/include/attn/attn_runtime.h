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

#define ATTN_MAX_RANK 8

/* A view of caller-owned memory. Strides are in elements; all zero means
 * row-major. Any layout works, e.g. [B, L, H, D] seen as [B, H, L, D]. */
typedef struct attn_tensor {
  void *data;
  attn_dtype dtype;
  int32_t rank;
  int64_t sizes[ATTN_MAX_RANK];
  int64_t strides[ATTN_MAX_RANK];
} attn_tensor;

/* What an ahead-of-time library exports beside its entry point. */
typedef struct attn_kernel_info {
  const char *name;
  const char *signature; /* inputs, dims, weights, schedule (text) */
  attn_kernel_fn entry;
} attn_kernel_info;

/* Checks every argument against the kernel's signature before touching any
 * memory, then runs the kernel on the runtime's thread pool.
 *   tensors  the tensor inputs in declaration order: q, k, v, then extras
 *   scalars  the scalar inputs in declaration order
 *   lse      may be NULL
 *   threads  0 for every core
 * Returns 0, or 1 with a message naming the tensor and dimension copied into
 * error (truncated to error_size bytes, always terminated). */
int32_t attn_run(const attn_kernel_info *kernel, const attn_tensor *const *tensors,
                 int32_t num_tensors, const double *scalars, int32_t num_scalars,
                 const attn_tensor *o, const attn_tensor *lse, int32_t threads,
                 char *error, int64_t error_size);

#ifdef __cplusplus
}
#endif

#endif /* ATTN_RUNTIME_H */
