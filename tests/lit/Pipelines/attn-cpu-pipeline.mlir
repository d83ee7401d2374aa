// RUN: attn-opt %s -attn-cpu-pipeline | FileCheck %s

// The whole CPU pipeline leaves only the LLVM dialect.
// CHECK: llvm.func @attn_kernel_sig(
// CHECK-NOT: scf.
// CHECK-NOT: arith.
// CHECK-NOT: {{[[:space:]]}}math.
// CHECK-NOT: {{[[:space:]]}}vector.
// CHECK-NOT: func.
// CHECK-NOT: attn.
attn.attention @sig [#attn.input<q : f32[B, H, L, 32]>, #attn.input<k : f32[B, H, L, 32]>,
                     #attn.input<v : f32[B, H, L, 32]>, #attn.input<bias : f32>] weights sigmoid scale {
  %c = arith.constant 0.176776692 : f32
  attn.yield %c : f32
} score {
^bb0(%s: f32, %b: i64, %h: i64, %i: i64, %j: i64):
  %bias = attn.load "bias"[] : f32
  %0 = math.tanh %s : f32
  %1 = arith.addf %0, %bias : f32
  attn.yield %1 : f32
} mask {
^bb0(%b: i64, %h: i64, %i: i64, %j: i64):
  %t = arith.constant true
  attn.yield %t : i1
}
