// RUN: attn-opt %s -canonicalize | FileCheck %s

// Constant parts of the regions fold away: `true && j <= i` is `j <= i`,
// 1 / 8 is a constant, and an unused read disappears.
// CHECK-LABEL: attn.attention @fold
// CHECK: scale {
// CHECK-NEXT: %[[C:.*]] = arith.constant 1.250000e-01 : f32
// CHECK-NEXT: attn.yield %[[C]] : f32
// CHECK: mask {
// CHECK-NEXT: ^bb0(%b: i64, %h: i64, %i: i64, %j: i64):
// CHECK-NEXT: %[[M:.*]] = arith.cmpi sle, %j, %i : i64
// CHECK-NEXT: attn.yield %[[M]] : i1
// CHECK-NOT: attn.load
attn.attention @fold [#attn.input<q : f32[B, H, L, 64]>,
                      #attn.input<k : f32[B, H, L, 64]>,
                      #attn.input<v : f32[B, H, L, 64]>,
                      #attn.input<w : i32>]
    weights softmax scale {
  %one = arith.constant 1.0 : f32
  %eight = arith.constant 8.0 : f32
  %c = arith.divf %one, %eight : f32
  attn.yield %c : f32
} score {
^bb0(%s: f32, %b: i64, %h: i64, %i: i64, %j: i64):
  attn.yield %s : f32
} mask {
^bb0(%b: i64, %h: i64, %i: i64, %j: i64):
  %t = arith.constant true
  %unused = attn.load "w"[] : i64
  %0 = arith.cmpi sle, %j, %i : i64
  %1 = arith.andi %t, %0 : i1
  attn.yield %1 : i1
}
