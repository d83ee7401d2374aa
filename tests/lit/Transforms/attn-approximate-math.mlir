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

// tanh's own division p(x) / q(x) (q > 0 and finite on the clamped x) may
// take a reciprocal estimate: arcp and ninf. A division that was there
// before keeps its flags: x / 0 stays inf.
// CHECK-LABEL: func.func @divisions
// CHECK: arith.divf %{{.*}}, %{{.*}} fastmath<ninf,arcp> : vector<16xf32>
// CHECK: %[[USER:.*]] = arith.divf %arg0, %arg1 : vector<16xf32>
// CHECK: return
func.func @divisions(%x: vector<16xf32>, %y: vector<16xf32>) -> (vector<16xf32>, vector<16xf32>) {
  %0 = math.tanh %x : vector<16xf32>
  %1 = arith.divf %x, %y : vector<16xf32>
  return %0, %1 : vector<16xf32>, vector<16xf32>
}
