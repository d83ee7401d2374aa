/* An ahead-of-time attn kernel called from plain C: causal attention on
 * random tensors, checked against a naive double-precision loop; then a
 * cross-attention kernel with extra inputs, and a call with a wrong shape
 * to show the error it returns. */
#include "alibi_padded.h"
#include "causal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static attn_tensor view4(float *data, int64_t a, int64_t b, int64_t c, int64_t d) {
  attn_tensor t;
  memset(&t, 0, sizeof t);
  t.data = data;
  t.dtype = ATTN_F32;
  t.rank = 4;
  t.sizes[0] = a, t.sizes[1] = b, t.sizes[2] = c, t.sizes[3] = d;
  return t; /* zero strides: row-major */
}

static float *randoms(size_t n, unsigned *seed) {
  float *p = malloc(n * sizeof *p);
  for (size_t i = 0; i < n; ++i) {
    *seed = *seed * 1103515245u + 12345u;
    p[i] = (float)((*seed >> 8) & 0xffff) / 32768.0f - 1.0f;
  }
  return p;
}

int main(void) {
  enum { B = 2, H = 3, L = 37, D = 128 };
  unsigned seed = 1;
  float *q = randoms(B * H * L * D, &seed), *k = randoms(B * H * L * D, &seed);
  float *v = randoms(B * H * L * D, &seed), *o = calloc(B * H * L * D, sizeof(float));
  float *lse = calloc(B * H * L, sizeof(float));
  attn_tensor tq = view4(q, B, H, L, D), tk = view4(k, B, H, L, D), tv = view4(v, B, H, L, D);
  attn_tensor to = view4(o, B, H, L, D), tl = view4(lse, B, H, L, 1);
  tl.rank = 3;
  char error[256];
  if (attn_causal(&tq, &tk, &tv, &to, &tl, 0, error, sizeof error)) {
    fprintf(stderr, "attn_causal failed: %s\n", error);
    return 1;
  }
  /* The naive reference: softmax over keys j <= i, in double. */
  double worst = 0, scale = 1.0 / sqrt((double)D);
  for (int b = 0; b < B; ++b)
    for (int h = 0; h < H; ++h)
      for (int i = 0; i < L; ++i) {
        const float *qi = q + ((b * H + h) * L + i) * D;
        double s[L], m = -INFINITY, sum = 0;
        for (int j = 0; j <= i; ++j) {
          const float *kj = k + ((b * H + h) * L + j) * D;
          double dot = 0;
          for (int d = 0; d < D; ++d)
            dot += (double)qi[d] * kj[d];
          s[j] = dot * scale;
          m = s[j] > m ? s[j] : m;
        }
        for (int j = 0; j <= i; ++j)
          sum += exp(s[j] - m);
        for (int d = 0; d < D; ++d) {
          double acc = 0;
          for (int j = 0; j <= i; ++j)
            acc += exp(s[j] - m) / sum * v[((b * H + h) * L + j) * D + d];
          double err = fabs(acc - o[((b * H + h) * L + i) * D + d]);
          worst = err > worst ? err : worst;
        }
        double lerr = fabs(m + log(sum) - lse[(b * H + h) * L + i]);
        worst = lerr > worst ? lerr : worst;
      }
  printf("causal: B=%d H=%d L=%d D=%d, max |error| against the naive loop: %.2e\n", B, H, L, D, worst);
  if (!(worst < 1e-4)) {
    fprintf(stderr, "mismatch\n");
    return 1;
  }

  /* Cross attention with ALiBi slopes, key padding and a window. */
  enum { Lq = 5, Lk = 9, Dc = 64, Hc = 8 };
  float *cq = randoms(Hc * Lq * Dc, &seed), *ck = randoms(Hc * Lk * Dc, &seed);
  float *cv = randoms(Hc * Lk * Dc, &seed), *co = calloc(Hc * Lq * Dc, sizeof(float));
  float slopes[Hc];
  int32_t kv_len[1] = {7};
  for (int h = 0; h < Hc; ++h)
    slopes[h] = 1.0f / (float)(1 << h);
  attn_tensor xq = view4(cq, 1, Hc, Lq, Dc), xk = view4(ck, 1, Hc, Lk, Dc), xv = view4(cv, 1, Hc, Lk, Dc);
  attn_tensor xo = view4(co, 1, Hc, Lq, Dc), ts = view4(slopes, Hc, 1, 1, 1), tlen = view4(NULL, 1, 1, 1, 1);
  ts.rank = 1;
  tlen.data = kv_len;
  tlen.dtype = ATTN_I32;
  tlen.rank = 1;
  if (attn_alibi_padded(&xq, &xk, &xv, &ts, &tlen, 4, &xo, 0, error, sizeof error)) {
    fprintf(stderr, "attn_alibi_padded failed: %s\n", error);
    return 1;
  }
  printf("alibi_padded: o[0][0][0][0..3] = %.4f %.4f %.4f %.4f\n", co[0], co[1], co[2], co[3]);

  /* A wrong call is an error with a message, not a crash. */
  attn_tensor bad = view4(v, B, H, L - 1, D);
  if (attn_causal(&tq, &tk, &bad, &to, NULL, 0, error, sizeof error) == 0) {
    fprintf(stderr, "a wrong shape was accepted\n");
    return 1;
  }
  printf("wrong shape rejected: %s\n", error);
  free(q), free(k), free(v), free(o), free(lse);
  free(cq), free(ck), free(cv), free(co);
  printf("ok\n");
  return 0;
}
