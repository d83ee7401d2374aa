// RUN: attn-opt %s | attn-opt | FileCheck %s

// CHECK-LABEL: attn.attention @gqa_window
// CHECK-SAME: #attn.input<q : bf16[B, 16, L, 256]>
// CHECK-SAME: #attn.input<k : bf16[B, 8, L, 256]>
// CHECK-SAME: #attn.input<window : i32>
// CHECK-SAME: weights softmax lse
// CHECK: score {
// CHECK: ^bb0(%s: f32, %b: i64, %h: i64, %i: i64, %j: i64):
// CHECK: math.tanh
// CHECK: mask {
// CHECK: attn.load "window"[] : i64
attn.attention @gqa_window [#attn.input<q : bf16[B, 16, L, 256]>,
                            #attn.input<k : bf16[B, 8, L, 256]>,
                            #attn.input<v : bf16[B, 8, L, 256]>,
                            #attn.input<window : i32>]
    weights softmax lse scale {
  %c = arith.constant 6.250000e-02 : f32
  attn.yield %c : f32
} score {
^bb0(%s: f32, %b: i64, %h: i64, %i: i64, %j: i64):
  %c50 = arith.constant 5.000000e+01 : f32
  %0 = arith.divf %s, %c50 : f32
  %1 = math.tanh %0 : f32
  %2 = arith.mulf %c50, %1 : f32
  attn.yield %2 : f32
} mask {
^bb0(%b: i64, %h: i64, %i: i64, %j: i64):
  %0 = arith.cmpi sle, %j, %i : i64
  %w = attn.load "window"[] : i64
  %d = arith.subi %i, %j : i64
  %1 = arith.cmpi slt, %d, %w : i64
  %2 = arith.andi %0, %1 : i1
  attn.yield %2 : i1
}

// CHECK-LABEL: attn.attention @topk_doc
// CHECK-SAME: weights topk(8)
// CHECK: %[[D:.*]] = attn.dim "L"
// CHECK: attn.load "doc"[%b, %j] if %{{.*}} : i64
attn.attention @topk_doc [#attn.input<q : f32[B, H, L, 64]>,
                          #attn.input<k : f32[B, H, L, 64]>,
                          #attn.input<v : f32[B, H, L, 32]>,
                          #attn.input<doc : i32[B, L]>]
    weights topk(8) scale {
  %c = arith.constant 1.250000e-01 : f32
  attn.yield %c : f32
} score {
^bb0(%s: f32, %b: i64, %h: i64, %i: i64, %j: i64):
  attn.yield %s : f32
} mask {
^bb0(%b: i64, %h: i64, %i: i64, %j: i64):
  %n = attn.dim "L"
  %in = arith.cmpi slt, %j, %n : i64
  %dj = attn.load "doc"[%b, %j] if %in : i64
  %di = attn.load "doc"[%b, %i] : i64
  %same = arith.cmpi eq, %di, %dj : i64
  %m = arith.andi %in, %same : i1
  attn.yield %m : i1
}
