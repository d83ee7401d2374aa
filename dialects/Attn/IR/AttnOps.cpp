//===- AttnOps.cpp - Verifiers of the attn operations ----------------------===//
#include "dialects/Attn/IR/AttnOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"
#include "llvm/ADT/StringSet.h"

using namespace mlir;
using namespace mlir::attn;

#define GET_OP_CLASSES
#include "dialects/Attn/IR/AttnOps.cpp.inc"

//===----------------------------------------------------------------------===//
// AttentionOp
//===----------------------------------------------------------------------===//

InputAttr AttentionOp::lookupInput(StringRef name) {
  for (Attribute attr : getInputs())
    if (auto in = dyn_cast<InputAttr>(attr); in && in.getName() == name)
      return in;
  return {};
}

std::optional<std::pair<InputAttr, unsigned>>
AttentionOp::lookupDim(StringRef name) {
  for (Attribute attr : getInputs()) {
    auto in = cast<InputAttr>(attr);
    for (unsigned d = 0, e = in.getRank(); d < e; ++d)
      if (in.getDimName(d) == name)
        return std::make_pair(in, d);
  }
  return std::nullopt;
}

void AttentionOp::getAsmBlockArgumentNames(Region &region,
                                           OpAsmSetValueNameFn setNameFn) {
  static const char *kScore[] = {"s", "b", "h", "i", "j"};
  const char *const *names = &region == &getScore() ? kScore : kScore + 1;
  for (BlockArgument arg : region.getArguments())
    setNameFn(arg, names[arg.getArgNumber()]);
}

/// Same dimension: the same name, or the same fixed size.
static bool sameDim(InputAttr a, unsigned da, InputAttr b, unsigned db) {
  return a.getDims()[da] == b.getDims()[db];
}

LogicalResult AttentionOp::verify() {
  ArrayAttr inputs = getInputs();
  static const char *kQKV[] = {"q", "k", "v"};
  if (inputs.size() < 3)
    return emitOpError("needs at least the inputs q, k and v");
  llvm::StringSet<> names;
  for (auto [n, attr] : llvm::enumerate(inputs)) {
    auto in = cast<InputAttr>(attr);
    if (!names.insert(in.getName().getValue()).second)
      return emitOpError("declares input '") << in.getName().getValue() << "' twice";
    if (n < 3) {
      if (in.getName() != kQKV[n])
        return emitOpError("input #") << n << " must be '" << kQKV[n]
                                      << "', found '" << in.getName().getValue() << "'";
      if (in.getRank() != 4)
        return emitOpError("input '") << kQKV[n] << "' must have rank 4";
      if (!isa<FloatType>(in.getElementType()))
        return emitOpError("input '") << kQKV[n] << "' must be a float tensor";
    } else if (kQKV[0] == in.getName() || kQKV[1] == in.getName() ||
               kQKV[2] == in.getName()) {
      return emitOpError("declares input '") << in.getName().getValue() << "' twice";
    }
  }
  InputAttr q = getInput(0), k = getInput(1), v = getInput(2);
  if (!sameDim(q, 0, k, 0) || !sameDim(q, 0, v, 0))
    return emitOpError("q, k and v must share the batch dimension");
  if (!sameDim(k, 1, v, 1) || !sameDim(k, 2, v, 2))
    return emitOpError("k and v must share heads and sequence");
  if (!sameDim(q, 3, k, 3))
    return emitOpError("q and k must share the head dim");
  int64_t hq = q.getFixedSize(1), hk = k.getFixedSize(1);
  if (hq > 0 && hk > 0 && hq % hk != 0)
    return emitOpError("query heads (") << hq << ") must be a multiple of kv heads ("
                                        << hk << ")";
  bool isTopK = getWeights() == WeightsKind::topk;
  if (isTopK != getTopk().has_value())
    return emitOpError("'topk' must be given exactly when the weights are topk");
  if (isTopK && *getTopk() < 1)
    return emitOpError("topk needs K >= 1, got ") << *getTopk();
  if (getLse() && (getWeights() == WeightsKind::sigmoid ||
                   getWeights() == WeightsKind::argmax))
    return emitOpError("the lse output needs softmax or topk weights");
  return success();
}

static LogicalResult verifyRegion(AttentionOp op, Region &region,
                                  StringRef what, ArrayRef<Type> argTypes,
                                  Type resultType) {
  Block &block = region.front();
  if (block.getArgumentTypes() != argTypes)
    return op.emitOpError("the ") << what << " region must take "
                                  << argTypes.size() << " arguments of types ("
                                  << argTypes << ")";
  auto yield = dyn_cast<YieldOp>(block.getTerminator());
  if (!yield)
    return op.emitOpError("the ") << what << " region must end with attn.yield";
  if (yield.getValue().getType() != resultType)
    return yield.emitOpError("in the ")
           << what << " region must yield " << resultType << ", found "
           << yield.getValue().getType();
  return success();
}

LogicalResult AttentionOp::verifyRegions() {
  Builder b(getContext());
  Type f32 = b.getF32Type(), i64 = b.getI64Type(), i1 = b.getI1Type();
  if (failed(verifyRegion(*this, getScale(), "scale", {}, f32)) ||
      failed(verifyRegion(*this, getScore(), "score", {f32, i64, i64, i64, i64}, f32)) ||
      failed(verifyRegion(*this, getMask(), "mask", {i64, i64, i64, i64}, i1)))
    return failure();
  return success();
}

//===----------------------------------------------------------------------===//
// DimOp and LoadOp
//===----------------------------------------------------------------------===//

LogicalResult DimOp::verify() {
  auto parent = (*this)->getParentOfType<AttentionOp>();
  if (!parent)
    return emitOpError("must be inside attn.attention");
  if (!parent.lookupDim(getName()))
    return emitOpError("unknown dimension '") << getName() << "'";
  return success();
}

LogicalResult LoadOp::verify() {
  auto parent = (*this)->getParentOfType<AttentionOp>();
  if (!parent)
    return emitOpError("must be inside attn.attention");
  InputAttr in = parent.lookupInput(getInput());
  if (!in)
    return emitOpError("unknown input '") << getInput() << "'";
  if (in == parent.getInput(0) || in == parent.getInput(1) || in == parent.getInput(2))
    return emitOpError("cannot read '") << getInput() << "'; q, k and v are not readable";
  if (static_cast<int64_t>(getIndices().size()) != in.getRank())
    return emitOpError("input '") << getInput() << "' has rank " << in.getRank()
                                  << " but " << getIndices().size()
                                  << " indices are given";
  Type expected = in.getElementType().isInteger(32)
                      ? Type(IntegerType::get(getContext(), 64))
                      : Type(Float32Type::get(getContext()));
  if (getResult().getType() != expected)
    return emitOpError("reads '") << getInput() << "' as " << expected
                                  << ", not " << getResult().getType();
  return success();
}
