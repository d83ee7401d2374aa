//===- VectorRegion.cpp - A score or mask region over a vector of keys -----===//
#include "compiler/Conversion/AttnToCPU/VectorRegion.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
namespace ad = ::mlir::attn;

namespace attn {

bool isVectorizable(Region &region, ArrayRef<unsigned> varying) {
  llvm::DenseSet<Value> vary;
  for (unsigned n : varying)
    vary.insert(region.front().getArgument(n));
  for (Operation &op : region.front()) {
    bool anyVarying = llvm::any_of(op.getOperands(), [&](Value v) { return vary.contains(v); });
    if (auto load = dyn_cast<ad::LoadOp>(op)) {
      // A read indexed by j is a gather (doc[b, j]); one that is not stays
      // uniform, whatever its guard.
      if (llvm::any_of(load.getIndices(), [&](Value index) { return vary.contains(index); }))
        vary.insert(load.getResult());
      continue;
    }
    if (isa<ad::YieldOp, ad::DimOp>(op))
      continue;
    if (op.getNumRegions() || op.getNumResults() != 1 ||
        !(isa<arith::ArithDialect>(op.getDialect()) || op.getDialect()->getNamespace() == "math"))
      return false;
    if (anyVarying)
      vary.insert(op.getResult(0));
  }
  return true;
}

Value vectorizeRegion(KernelEmitter &k, Region &region, ArrayRef<Value> args, Value active) {
  OpBuilder &b = k.b;
  Location loc = k.loc;
  llvm::DenseMap<Value, Value> scalar, vector; // one of them per value
  for (auto [arg, v] : llvm::zip(region.front().getArguments(), args))
    (isa<VectorType>(v.getType()) ? vector : scalar)[arg] = v;
  auto asVector = [&](Value v) -> Value {
    if (Value vec = vector.lookup(v))
      return vec;
    Value s = scalar.lookup(v);
    Value splat = b.create<vector::SplatOp>(loc, VectorType::get({k.width}, s.getType()), s);
    vector[v] = splat;
    return splat;
  };
  Value anyActive = b.create<vector::ReductionOp>(loc, vector::CombiningKind::OR, active);
  for (Operation &op : region.front()) {
    if (auto yield = dyn_cast<ad::YieldOp>(op))
      return asVector(yield.getValue());
    if (auto dim = dyn_cast<ad::DimOp>(op)) {
      scalar[dim.getResult()] = k.dims.at(dim.getName().str());
      continue;
    }
    if (auto load = dyn_cast<ad::LoadOp>(op)) {
      if (load.getIndices().empty()) {
        scalar[load.getResult()] = k.scalars.at(load.getInput().str());
        continue;
      }
      bool gathered = llvm::any_of(load.getIndices(), [&](Value index) { return vector.count(index) != 0; });
      if (gathered) {
        // Every index as a vector; read by the active lanes its guard lets.
        SmallVector<Value> indices;
        for (Value index : load.getIndices())
          indices.push_back(asVector(index));
        Value lanes = active;
        if (Value g = load.getGuard())
          lanes = b.create<arith::AndIOp>(loc, asVector(g), active);
        vector[load.getResult()] = k.gatherChecked(load, indices, lanes);
        continue;
      }
      SmallVector<Value> indices;
      for (Value index : load.getIndices())
        indices.push_back(scalar.lookup(index));
      // Evaluated where some active lane evaluates it.
      Value guard = anyActive;
      if (Value g = load.getGuard()) {
        Value lanes = b.create<arith::AndIOp>(loc, asVector(g), active);
        guard = b.create<vector::ReductionOp>(loc, vector::CombiningKind::OR, lanes);
      }
      scalar[load.getResult()] = k.loadChecked(load, indices, guard);
      continue;
    }
    bool varies = llvm::any_of(op.getOperands(), [&](Value v) { return vector.count(v) != 0; });
    if (!varies) {
      IRMapping map;
      for (Value v : op.getOperands())
        map.map(v, scalar.lookup(v));
      scalar[op.getResult(0)] = b.clone(op, map)->getResult(0);
      continue;
    }
    OperationState state(loc, op.getName());
    for (Value v : op.getOperands())
      state.addOperands(asVector(v));
    state.addTypes(VectorType::get({k.width}, op.getResult(0).getType()));
    state.addAttributes(op.getAttrs());
    vector[op.getResult(0)] = b.create(state)->getResult(0);
  }
  return {};
}

} // namespace attn
