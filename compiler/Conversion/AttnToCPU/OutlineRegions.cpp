//===- OutlineRegions.cpp - Parts of a kernel as functions of their own ----===//
#include "compiler/Conversion/AttnToCPU/OutlineRegions.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Utils/Utils.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/RegionUtils.h"

#include <map>
#include <string>

using namespace mlir;

namespace attn {

static constexpr llvm::StringLiteral kOutlineRole = "attn.outline";

SmallVector<Value> emitOutlinableWithResults(OpBuilder &b, Location loc, llvm::StringRef role,
                                             const std::function<SmallVector<Value>()> &body) {
  // The results' types are known once body() has run: it fills a region
  // without results, which then moves into the op that has them.
  auto building = b.create<scf::ExecuteRegionOp>(loc, TypeRange{});
  SmallVector<Value> results;
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&building.getRegion().emplaceBlock());
    results = body();
    b.create<scf::YieldOp>(loc, results);
  }
  auto region = building;
  if (!results.empty()) {
    region = b.create<scf::ExecuteRegionOp>(loc, ValueRange(results).getTypes());
    region.getRegion().takeBody(building.getRegion());
    building.erase();
  }
  region->setAttr(kOutlineRole, b.getStringAttr(role));
  return SmallVector<Value>(region.getResults());
}

void emitOutlinable(OpBuilder &b, Location loc, llvm::StringRef role, const std::function<void()> &body) {
  emitOutlinableWithResults(b, loc, role, [&] {
    body();
    return SmallVector<Value>();
  });
}

LogicalResult outlineMarkedRegions(func::FuncOp fn) {
  SmallVector<scf::ExecuteRegionOp> marked;
  fn.walk([&](scf::ExecuteRegionOp op) {
    if (op->hasAttr(kOutlineRole))
      marked.push_back(op);
  });
  IRRewriter rewriter(fn.getContext());
  std::map<std::string, int> taken;
  for (scf::ExecuteRegionOp op : marked) {
    Region &region = op.getRegion();
    llvm::SetVector<Value> captured;
    getUsedValuesDefinedAbove(region, captured);
    for (Value v : captured) {
      Operation *def = v.getDefiningOp();
      if (!def || !def->hasTrait<OpTrait::ConstantLike>())
        continue;
      rewriter.setInsertionPointToStart(&region.front());
      Value copy = rewriter.clone(*def)->getResult(0);
      v.replaceUsesWithIf(copy, [&](OpOperand &use) { return region.isAncestor(use.getOwner()->getParentRegion()); });
    }
    std::string name = (fn.getName() + "_" + op->getAttrOfType<StringAttr>(kOutlineRole).getValue()).str();
    if (int n = taken[name]++)
      name += std::to_string(n);
    FailureOr<func::FuncOp> outlined = outlineSingleBlockRegion(rewriter, op.getLoc(), region, name);
    if (failed(outlined))
      return op.emitError("cannot outline the region '") << name << "'";
    outlined->setPrivate();
    // Internal in the object: an AOT library exports only the kernels.
    (*outlined)->setAttr("llvm.linkage", LLVM::LinkageAttr::get(fn.getContext(), LLVM::Linkage::Internal));
    op->removeAttr(kOutlineRole);
  }
  return success();
}

} // namespace attn
