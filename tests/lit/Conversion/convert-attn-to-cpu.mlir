// RUN: attn-opt %s -split-input-file -convert-attn-to-cpu="vector-width=8 block-k=32" | FileCheck %s

// Softmax: a function with the kernel C ABI, a loop over work items, blocks
// of keys with a running max (maximumf) and sum, vector FMAs along the head
// dim, and no attn op left. The tiled path's parts, and the row path's
// block of keys, are private functions of their own (OutlineRegions.h),
// internal in the object, with the constants they use inside them; the
// kernel calls them.
// CHECK-LABEL: func.func private @attn_kernel_causal_setup(
// CHECK-SAME: -> (i64, i64) attributes {llvm.linkage = #llvm.linkage<internal>}
// CHECK-LABEL: func.func private @attn_kernel_causal_scores(
// CHECK: arith.constant 32 : i64
// CHECK: vector.fma {{.*}} : vector<8xf32>
// CHECK-LABEL: func.func private @attn_kernel_causal_values(
// CHECK: vector.fma {{.*}} : vector<8xf32>
// CHECK-LABEL: func.func private @attn_kernel_causal_finish(
// CHECK-LABEL: func.func private @attn_kernel_causal_row_block(
// CHECK-SAME: -> (f32, f32) attributes {llvm.linkage = #llvm.linkage<internal>}
// CHECK: arith.cmpi sle
// CHECK: vector.fma {{.*}} : vector<8xf32>
// CHECK: vector.reduction <add>
// CHECK: arith.maximumf
// CHECK: math.exp
// CHECK-LABEL: func.func @attn_kernel_causal(
// CHECK-SAME: %{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr, %{{.*}}: i64, %{{.*}}: i64, %{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr)
// CHECK: call @attn_kernel_causal_setup(
// CHECK: call @attn_kernel_causal_scores(
// CHECK: call @attn_kernel_causal_values(
// CHECK: call @attn_kernel_causal_finish(
// CHECK: scf.for {{.*}} iter_args
// CHECK: call @attn_kernel_causal_row_block(
// CHECK: math.log
// CHECK-NOT: attn.
attn.attention @causal [#attn.input<q : f32[B, H, L, 64]>, #attn.input<k : f32[B, H, L, 64]>,
                        #attn.input<v : f32[B, H, L, 64]>] weights softmax lse scale {
  %c = arith.constant 1.250000e-01 : f32
  attn.yield %c : f32
} score {
^bb0(%s: f32, %b: i64, %h: i64, %i: i64, %j: i64):
  attn.yield %s : f32
} mask {
^bb0(%b: i64, %h: i64, %i: i64, %j: i64):
  %0 = arith.cmpi sle, %j, %i : i64
  attn.yield %0 : i1
}

// -----

// A read from data is range checked: an unsigned compare against the size,
// a status store (atomic) when out of range, and a clamped index.
// CHECK-LABEL: func.func private @attn_kernel_doc_row_block(
// CHECK: arith.cmpi ult
// CHECK: scf.if
// CHECK: llvm.store {{.*}} atomic monotonic
// CHECK: arith.select
// CHECK: llvm.load {{.*}} -> i32
// CHECK: arith.extsi
// CHECK-NOT: attn.
attn.attention @doc [#attn.input<q : f32[B, H, L, 16]>, #attn.input<k : f32[B, H, L, 16]>,
                     #attn.input<v : f32[B, H, L, 16]>, #attn.input<doc : i32[B, L]>] weights softmax scale {
  %c = arith.constant 2.500000e-01 : f32
  attn.yield %c : f32
} score {
^bb0(%s: f32, %b: i64, %h: i64, %i: i64, %j: i64):
  attn.yield %s : f32
} mask {
^bb0(%b: i64, %h: i64, %i: i64, %j: i64):
  %di = attn.load "doc"[%b, %i] : i64
  %dj = attn.load "doc"[%b, %j] : i64
  %0 = arith.cmpi eq, %di, %dj : i64
  attn.yield %0 : i1
}

// -----

// top-k keeps a sorted buffer: a while loop shifts lower scores down. It
// has no P V per block, so no `values` function.
// CHECK-LABEL: func.func private @attn_kernel_top_scores(
// CHECK: scf.while
// CHECK: scf.condition
// CHECK-NOT: @attn_kernel_top_values
// CHECK-LABEL: func.func @attn_kernel_top(
// CHECK: call @attn_kernel_top_scores(
// CHECK-NOT: attn.
attn.attention @top [#attn.input<q : bf16[B, H, L, 16]>, #attn.input<k : bf16[B, H, L, 16]>,
                     #attn.input<v : bf16[B, H, L, 16]>] weights topk(4) scale {
  %c = arith.constant 2.500000e-01 : f32
  attn.yield %c : f32
} score {
^bb0(%s: f32, %b: i64, %h: i64, %i: i64, %j: i64):
  attn.yield %s : f32
} mask {
^bb0(%b: i64, %h: i64, %i: i64, %j: i64):
  %t = arith.constant true
  attn.yield %t : i1
}
