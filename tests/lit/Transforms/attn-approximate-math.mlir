// RUN: attn-opt %s -attn-approximate-math | FileCheck %s

// exp, log and tanh of f32 vectors become polynomials of arith ops: no libm
// call per element.
// CHECK-LABEL: func.func @f
// CHECK-NOT: math.exp
// CHECK-NOT: math.log
// CHECK-NOT: math.tanh
// CHECK: arith.mulf
// CHECK: return
func.func @f(%x: vector<8xf32>) -> vector<8xf32> {
  %0 = math.exp %x : vector<8xf32>
  %1 = math.log %0 : vector<8xf32>
  %2 = math.tanh %1 : vector<8xf32>
  return %2 : vector<8xf32>
}
