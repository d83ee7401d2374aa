//===- KernelEmitter.cpp - Building blocks of a CPU attention kernel -------===//
#include "compiler/Conversion/AttnToCPU/KernelEmitter.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/IRMapping.h"

#include <cmath>
#include <limits>

using namespace mlir;
namespace ad = ::mlir::attn;

namespace attn {

static attn_dtype dtypeOf(Type t) {
  if (t.isBF16()) return ATTN_BF16;
  if (t.isF16()) return ATTN_F16;
  if (t.isInteger(32)) return ATTN_I32;
  return ATTN_F32;
}

KernelSignature signatureOf(ad::AttentionOp op, const Schedule &schedule) {
  KernelSignature sig;
  sig.name = op.getSymName().str();
  for (Attribute attr : op.getInputs()) {
    auto in = cast<ad::InputAttr>(attr);
    InputSig s;
    s.name = in.getName().str();
    s.dtype = dtypeOf(in.getElementType());
    for (unsigned d = 0; d < in.getRank(); ++d)
      s.dims.push_back(in.getFixedSize(d) >= 0 ? DimSig{in.getFixedSize(d), ""}
                                               : DimSig{-1, in.getDimName(d).str()});
    sig.inputs.push_back(std::move(s));
  }
  sig.weights = static_cast<Weights>(static_cast<int>(op.getWeights()));
  sig.topk = op.getTopk().value_or(0);
  sig.returnLse = op.getLse();
  sig.schedule = schedule;
  return sig;
}

KernelEmitter::KernelEmitter(OpBuilder &b, ad::AttentionOp op, const KernelSignature &sig)
    : b(b), loc(op.getLoc()), op(op), sig(sig), layout(sig), width(sig.schedule.vectorWidth) {
  f32 = b.getF32Type();
  i64Type = b.getI64Type();
  ptrType = LLVM::LLVMPointerType::get(b.getContext());
  qType = elemTypeOf(0);
  kType = elemTypeOf(1);
  vType = elemTypeOf(2);
}

Type KernelEmitter::elemTypeOf(unsigned input) { return op.getInput(input).getElementType(); }
Type KernelEmitter::vecType() const { return VectorType::get({width}, f32); }

Value KernelEmitter::i64c(int64_t v) { return b.create<arith::ConstantOp>(loc, b.getI64IntegerAttr(v)); }
Value KernelEmitter::f32c(float v) { return b.create<arith::ConstantOp>(loc, b.getF32FloatAttr(v)); }
Value KernelEmitter::idx(Value v) { return b.create<arith::IndexCastOp>(loc, b.getIndexType(), v); }
Value KernelEmitter::i64(Value v) { return b.create<arith::IndexCastOp>(loc, i64Type, v); }
Value KernelEmitter::add(Value x, Value y) { return b.create<arith::AddIOp>(loc, x, y); }
Value KernelEmitter::mul(Value x, Value y) { return b.create<arith::MulIOp>(loc, x, y); }

bool KernelEmitter::maskIsTrue() {
  auto yield = cast<ad::YieldOp>(op.getMask().front().getTerminator());
  auto c = yield.getValue().getDefiningOp<arith::ConstantOp>();
  return c && cast<BoolAttr>(c.getValue()).getValue();
}

bool KernelEmitter::scoreIsIdentity() {
  auto yield = cast<ad::YieldOp>(op.getScore().front().getTerminator());
  return yield.getValue() == op.getScore().front().getArgument(0);
}

Value KernelEmitter::align64(Value x) {
  Value c64 = i64c(64);
  return mul(b.create<arith::DivSIOp>(loc, add(x, i64c(63)), c64), c64);
}

Value KernelEmitter::gep(Value base, Value offset, Type elemType) {
  return b.create<LLVM::GEPOp>(loc, ptrType, elemType, base, ValueRange{offset});
}

Value KernelEmitter::loadParam(int slot) {
  return b.create<LLVM::LoadOp>(loc, i64Type, gep(params, i64c(slot), i64Type), 8);
}

Value KernelEmitter::loadPointer(int slot) {
  return b.create<LLVM::LoadOp>(loc, ptrType, gep(ptrs, i64c(slot), ptrType), 8);
}

static unsigned bytesOf(Type t) { return t.getIntOrFloatBitWidth() / 8; }

Value KernelEmitter::loadF32(Value base, Value offset, Type elemType) {
  Value v = b.create<LLVM::LoadOp>(loc, elemType, gep(base, offset, elemType), bytesOf(elemType));
  return elemType == f32 ? v : b.create<arith::ExtFOp>(loc, f32, v).getResult();
}

Value KernelEmitter::loadVecF32(Value base, Value offset, Type elemType) {
  Type vt = VectorType::get({width}, elemType);
  Value v = b.create<LLVM::LoadOp>(loc, vt, gep(base, offset, elemType), bytesOf(elemType));
  return elemType == f32 ? v : b.create<arith::ExtFOp>(loc, vecType(), v).getResult();
}

void KernelEmitter::storeF32(Value value, Value base, Value offset, Type elemType) {
  if (elemType != f32)
    value = b.create<arith::TruncFOp>(loc, elemType, value);
  b.create<LLVM::StoreOp>(loc, value, gep(base, offset, elemType), bytesOf(elemType));
}

void KernelEmitter::storeVecF32(Value value, Value base, Value offset, Type elemType) {
  if (elemType != f32)
    value = b.create<arith::TruncFOp>(loc, VectorType::get({width}, elemType), value);
  b.create<LLVM::StoreOp>(loc, value, gep(base, offset, elemType), bytesOf(elemType));
}

void KernelEmitter::prefetch(Value base, Value offset, Type elemType, int locality) {
  b.create<LLVM::Prefetch>(loc, gep(base, offset, elemType), b.getI32IntegerAttr(0), b.getI32IntegerAttr(locality),
                           b.getI32IntegerAttr(1));
}

void KernelEmitter::vectorLoop(Value n, const std::function<void(Value, bool)> &body) {
  Value w = i64c(width);
  Value mainEnd = mul(b.create<arith::DivSIOp>(loc, n, w), w);
  b.create<scf::ForOp>(loc, idx(i64c(0)), idx(mainEnd), idx(w), ValueRange{},
                       [&](OpBuilder &, Location, Value d, ValueRange) {
                         body(i64(d), true);
                         b.create<scf::YieldOp>(loc);
                       });
  b.create<scf::ForOp>(loc, idx(mainEnd), idx(n), idx(i64c(1)), ValueRange{},
                       [&](OpBuilder &, Location, Value d, ValueRange) {
                         body(i64(d), false);
                         b.create<scf::YieldOp>(loc);
                       });
}

Value KernelEmitter::vectorReduceLoop(Value n, const std::function<Value(Value, Value, bool)> &body) {
  Value w = i64c(width);
  Value mainEnd = mul(b.create<arith::DivSIOp>(loc, n, w), w);
  Value zeroVec = b.create<arith::ConstantOp>(
      loc, DenseElementsAttr::get(cast<ShapedType>(vecType()), b.getF32FloatAttr(0.0f)));
  auto main = b.create<scf::ForOp>(loc, idx(i64c(0)), idx(mainEnd), idx(w), ValueRange{zeroVec},
                                   [&](OpBuilder &, Location, Value d, ValueRange acc) {
                                     b.create<scf::YieldOp>(loc, body(i64(d), acc[0], true));
                                   });
  Value sum = b.create<vector::ReductionOp>(loc, vector::CombiningKind::ADD, main.getResult(0));
  auto tail = b.create<scf::ForOp>(loc, idx(mainEnd), idx(n), idx(i64c(1)), ValueRange{sum},
                                   [&](OpBuilder &, Location, Value d, ValueRange acc) {
                                     b.create<scf::YieldOp>(loc, body(i64(d), acc[0], false));
                                   });
  return tail.getResult(0);
}

Value KernelEmitter::reduceMax(Value vec) {
  auto type = cast<VectorType>(vec.getType());
  int64_t n = type.getNumElements();
  // Each level folds the upper half of the live lanes onto the lower half;
  // the lanes past the half are don't-care copies.
  for (int64_t half = n / 2; half >= 1; half /= 2) {
    SmallVector<int64_t> mask;
    for (int64_t l = 0; l < n; ++l)
      mask.push_back(l < half ? l + half : l);
    Value upper = b.create<vector::ShuffleOp>(loc, vec, vec, mask);
    Value greater = b.create<arith::CmpFOp>(loc, arith::CmpFPredicate::OGT, vec, upper);
    vec = b.create<arith::SelectOp>(loc, greater, vec, upper);
  }
  return b.create<vector::ExtractOp>(loc, vec, 0);
}

Value KernelEmitter::reduceMaxRows(ArrayRef<Value> rows) {
  auto type = cast<VectorType>(rows[0].getType());
  int64_t w = type.getNumElements(), count = static_cast<int64_t>(rows.size());
  if (count > w || (count & (count - 1)) != 0) { // not a transposable shape: one tree per row
    Value all = b.create<arith::ConstantOp>(
        loc, DenseElementsAttr::get(VectorType::get({count}, type.getElementType()), 0.0f));
    for (int64_t r = 0; r < count; ++r)
      all = b.create<vector::InsertOp>(loc, reduceMax(rows[r]), all, r);
    return all;
  }
  auto maxOf = [&](Value x, Value y) {
    return b.create<arith::SelectOp>(loc, b.create<arith::CmpFOp>(loc, arith::CmpFPredicate::OGT, x, y), x, y)
        .getResult();
  };
  // Each vector holds its rows in segments of `seg` lanes (at first one row
  // in all W). A pair (a, b) becomes one vector of segments half as long:
  // segment k of a, then segment k of b, each the max of its two halves.
  // Pairing vector i with i + half keeps the rows in order at the end.
  SmallVector<Value> v(rows.begin(), rows.end());
  int64_t seg = w;
  while (v.size() > 1) {
    int64_t half = static_cast<int64_t>(v.size()) / 2, sub = seg / 2;
    SmallVector<int64_t> lower, upper;
    for (int64_t k = 0; k < w / seg; ++k)
      for (int64_t fromB = 0; fromB < 2; ++fromB)
        for (int64_t t = 0; t < sub; ++t) {
          lower.push_back(fromB * w + k * seg + t);
          upper.push_back(fromB * w + k * seg + sub + t);
        }
    SmallVector<Value> next;
    for (int64_t i = 0; i < half; ++i) {
      Value x = b.create<vector::ShuffleOp>(loc, v[i], v[i + half], lower);
      Value y = b.create<vector::ShuffleOp>(loc, v[i], v[i + half], upper);
      next.push_back(maxOf(x, y));
    }
    v = next;
    seg = sub;
  }
  // One vector of R segments: fold each onto its first lane.
  Value all = v[0];
  for (int64_t s = seg / 2; s >= 1; s /= 2) {
    SmallVector<int64_t> mask;
    for (int64_t l = 0; l < w; ++l)
      mask.push_back(l % seg < s ? l + s : l);
    all = maxOf(all, b.create<vector::ShuffleOp>(loc, all, all, mask));
  }
  SmallVector<int64_t> firsts;
  for (int64_t r = 0; r < count; ++r)
    firsts.push_back(r * seg);
  return b.create<vector::ShuffleOp>(loc, all, all, firsts);
}

Value KernelEmitter::expWeights(Value d, bool base2) {
  auto type = dyn_cast<VectorType>(d.getType());
  auto splat = [&](float x) { return b.create<arith::ConstantOp>(loc, DenseElementsAttr::get(type, x)); };
  if (width != 16 || !type || type.getNumElements() != 16) {
    if (base2) {
      auto ln2 = static_cast<float>(M_LN2);
      Value c = type ? splat(ln2).getResult() : f32c(ln2);
      d = b.create<arith::MulFOp>(loc, d, c);
    }
    return b.create<math::ExpOp>(loc, d);
  }
  Value t = base2 ? d : b.create<arith::MulFOp>(loc, d, splat(static_cast<float>(M_LOG2E))).getResult();
  // 2^t = 2^r * 2^floor(t), r = t - floor(t) in [0, 1) from one vreduceps
  // (AVX512DQ, which 16-wide targets have: nativeVectorWidth) in place of a
  // round and a subtract, and vscalefps taking floor(t) itself.
  // No denormal results, and no masking for them: Intel cores take a
  // microcode assist for every denormal an instruction produces (53 ns per
  // vscalefps landing at 2^-130), and the runtime runs kernels with
  // MXCSR.FTZ (Invoke.cpp), which flushes them without one. -inf gives
  // vreduceps 0 and vscalefps 0 (p = 0 for masked keys, with no compare);
  // NaN stays NaN. Without FTZ the weights are still right, only slow.
  Value allLanes = b.create<arith::ConstantOp>(loc, b.getI16IntegerAttr(-1));
  Value currentRounding = b.create<arith::ConstantOp>(loc, b.getI32IntegerAttr(4));
  Value floorImm = b.create<arith::ConstantOp>(loc, b.getI32IntegerAttr(0x09)); // keep 0 bits, round down, quiet
  Value r = b.create<LLVM::CallIntrinsicOp>(loc, type, "llvm.x86.avx512.mask.reduce.ps.512",
                                            ValueRange{t, floorImm, t, allLanes, currentRounding})
                .getResult(0);
  // Fits P of 2^r on [0, 1) with the smallest largest relative error
  // (Remez): degree 4 (2.7e-6, about 22 ulp; 1e-4 x max |o| is the f32
  // tolerance) on f32 tiles, one FMA per vector fewer than degree 5
  // (7.5e-8); on AMX tiles, where P V reads p rounded to bf16 (relative
  // steps of 2^-8), degree 3 (1.0e-4; two FMAs fewer per vector, 2-5% of a
  // bf16 dense kernel); split f32 (splitsF32) reads p to 2^-17 or better,
  // and keeps degree 4.
  const float c4[] = {1.0000026226f, 0.6930038333f, 0.2414427549f, 0.05201146007f, 0.01353416778f};
  const float c3[] = {0.9998977184295654f, 0.6962615251541138f, 0.22584481537342072f, 0.07779119163751602f};
  ArrayRef<float> c = amx && !bf16Parts ? ArrayRef<float>(c3) : ArrayRef<float>(c4);
  Value p = splat(c.back());
  for (int i = static_cast<int>(c.size()) - 2; i >= 0; --i)
    p = b.create<math::FmaOp>(loc, p, r, splat(c[i]));
  // p * 2^floor(t), exact, with underflow to 0 and overflow to inf.
  return b.create<LLVM::CallIntrinsicOp>(loc, type, "llvm.x86.avx512.mask.scalef.ps.512",
                                         ValueRange{p, t, p, allLanes, currentRounding})
      .getResult(0);
}

func::FuncOp KernelEmitter::createFunction(ModuleOp module, KernelPaths paths) {
  b.setInsertionPointToEnd(module.getBody());
  auto fnType = b.getFunctionType({ptrType, ptrType, i64Type, i64Type, ptrType, ptrType}, {});
  auto fn = b.create<func::FuncOp>(loc, kernelSymbol(sig.name, paths), fnType);
  Block *entry = fn.addEntryBlock();
  b.setInsertionPointToStart(entry);
  ptrs = entry->getArgument(0);
  params = entry->getArgument(1);
  begin = entry->getArgument(2);
  end = entry->getArgument(3);
  scratch = entry->getArgument(4);
  status = entry->getArgument(5);

  // A size the spec fixes is a constant in the code (the runtime has
  // checked the call against it): dead tails fold away and divisions by it
  // become multiplications.
  auto size = [&](int slot, int input, int dim) {
    int64_t fixed = sig.inputs[input].dims[dim].fixed;
    return fixed >= 0 ? i64c(fixed) : loadParam(slot);
  };
  batch = size(ParamLayout::Batch, 0, 0);
  qHeads = size(ParamLayout::QHeads, 0, 1);
  kvHeads = size(ParamLayout::KvHeads, 1, 1);
  qLen = size(ParamLayout::QLen, 0, 2);
  kvLen = size(ParamLayout::KvLen, 1, 2);
  headDim = size(ParamLayout::HeadDim, 0, 3);
  vDim = size(ParamLayout::VDim, 2, 3);
  group = b.create<arith::DivSIOp>(loc, qHeads, kvHeads);
  // o of more than kStreamOBytes is written past the caches (see rowStoreO).
  constexpr int64_t kStreamOBytes = int64_t(32) << 20;
  streamO = b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::sgt,
                                    mul(mul(mul(batch, qHeads), mul(qLen, vDim)), i64c(4)), i64c(kStreamOBytes));
  qPtr = loadPointer(ParamLayout::Q);
  kPtr = loadPointer(ParamLayout::K);
  vPtr = loadPointer(ParamLayout::V);
  oPtr = loadPointer(ParamLayout::O);
  lsePtr = loadPointer(ParamLayout::Lse);
  ktPtr = loadPointer(ParamLayout::KTransposed);
  bf16Dot = usesBf16Dot(sig);
  amx = usesAmx(sig);
  bf16Parts = ::attn::bf16Parts(sig);
  if (bf16Dot && blocksTakePV(sig))
    vFinite = b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ne, loadParam(ParamLayout::VFinite), i64c(0));
  if (bf16Dot || widensV(sig) || readsAlignedV(sig))
    vPairsPtr = loadPointer(ParamLayout::VPairs);
  if (bf16Parts)
    kFinite = b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ne, loadParam(ParamLayout::KFinite), i64c(0));
  // Clamped to what scratch is laid out for: a wrong caller cannot make a
  // q block overrun it.
  tiledQRows = b.create<arith::MinSIOp>(
      loc, b.create<arith::MaxSIOp>(loc, loadParam(ParamLayout::QBlockRows), i64c(1)), i64c(sig.schedule.blockQ));
  tiledScratch = {i64c(ScratchLayout::compute(sig.schedule, 0, 0).tile),
                  loadParam(ParamLayout::ScratchRows),      loadParam(ParamLayout::ScratchTileP),
                  loadParam(ParamLayout::ScratchTileCorrections), loadParam(ParamLayout::ScratchTileP16),
                  loadParam(ParamLayout::ScratchAcc),       loadParam(ParamLayout::ScratchTopScores),
                  loadParam(ParamLayout::ScratchTopIndex),  loadParam(ParamLayout::ScratchQTile),
                  loadParam(ParamLayout::ScratchTileState)};
  if (splitsKeys(sig)) {
    keySplits = loadParam(ParamLayout::KeySplits);
    partialsPtr = loadPointer(ParamLayout::Partials);
  }
  auto strides = [&](int tensor, int rank, SmallVector<Value, 4> &out) {
    for (int d = 0; d < rank; ++d)
      out.push_back(loadParam(layout.strides(tensor) + d));
  };
  strides(ParamLayout::Q, 4, qStr);
  strides(ParamLayout::K, 4, kStr);
  strides(ParamLayout::V, 4, vStr);
  strides(ParamLayout::O, 4, oStr);
  strides(ParamLayout::Lse, 3, lseStr);
  for (const std::string &name : sig.dimNames())
    dims[name] = loadParam(layout.dim(name));
  for (int n : sig.scalars()) {
    Value bits = loadParam(layout.scalar(n));
    if (sig.inputs[n].dtype == ATTN_I32) {
      scalars[sig.inputs[n].name] = bits;
    } else {
      Value low = b.create<arith::TruncIOp>(loc, b.getI32Type(), bits);
      scalars[sig.inputs[n].name] = b.create<arith::BitcastOp>(loc, f32, low);
    }
  }
  int extra = 0;
  for (int n : sig.extraTensors()) {
    Extra e;
    e.inputIndex = n;
    e.elemType = elemTypeOf(n);
    e.ptr = loadPointer(layout.pointer(n));
    const InputSig &in = sig.inputs[n];
    for (size_t d = 0; d < in.dims.size(); ++d) {
      e.sizes.push_back(in.dims[d].fixed >= 0 ? i64c(in.dims[d].fixed) : dims.at(in.dims[d].name));
      e.strides.push_back(loadParam(layout.strides(ParamLayout::FirstExtra + extra) + d));
    }
    ++extra;
    extras[in.name] = e;
  }
  scale = inlineRegion(op.getScale(), {});
  return fn;
}

void KernelEmitter::rowFill(Value acc, float value) {
  vectorLoop(vDim, [&](Value d, bool vec) {
    if (vec)
      storeVecF32(b.create<vector::SplatOp>(loc, vecType(), f32c(value)), acc, d, f32);
    else
      storeF32(f32c(value), acc, d, f32);
  });
}

void KernelEmitter::rowScale(Value acc, Value factor) {
  vectorLoop(vDim, [&](Value d, bool vec) {
    if (vec)
      storeVecF32(b.create<arith::MulFOp>(loc, loadVecF32(acc, d, f32),
                                          b.create<vector::SplatOp>(loc, vecType(), factor)),
                  acc, d, f32);
    else
      storeF32(b.create<arith::MulFOp>(loc, loadF32(acc, d, f32), factor), acc, d, f32);
  });
}

void KernelEmitter::rowAxpy(Value acc, Value p, Value vOffset) {
  vectorLoop(vDim, [&](Value d, bool vec) {
    if (vec)
      storeVecF32(b.create<vector::FMAOp>(loc, b.create<vector::SplatOp>(loc, vecType(), p),
                                          loadVecF32(vPtr, add(vOffset, d), vType), loadVecF32(acc, d, f32)),
                  acc, d, f32);
    else
      storeF32(b.create<math::FmaOp>(loc, p, loadF32(vPtr, add(vOffset, d), vType), loadF32(acc, d, f32)), acc,
               d, f32);
  });
}

bool KernelEmitter::mayStreamO() const { return qType == f32 && width == 16; }

void KernelEmitter::rowStoreO(Value acc, Value factor, Value empty, Value oOffset) {
  if (!mayStreamO())
    return rowStoreOWith(acc, factor, empty, oOffset, false);
  // A large f32 o (streamO) goes out with non-temporal stores where its
  // rows are whole aligned cache lines: a plain store first reads each line
  // it writes (4-5% of a windowed or document-masked kernel, whose work per
  // row of o is small). The kernel ends with an sfence.
  Value addr = b.create<LLVM::PtrToIntOp>(loc, i64Type, gep(oPtr, oOffset, f32));
  Value lineAligned =
      b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::eq, b.create<arith::AndIOp>(loc, addr, i64c(63)), i64c(0));
  Value wholeLines =
      b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::eq, b.create<arith::AndIOp>(loc, vDim, i64c(15)), i64c(0));
  Value stream = b.create<arith::AndIOp>(loc, streamO, b.create<arith::AndIOp>(loc, lineAligned, wholeLines));
  b.create<scf::IfOp>(
      loc, stream,
      [&](OpBuilder &, Location) {
        rowStoreOWith(acc, factor, empty, oOffset, true);
        b.create<scf::YieldOp>(loc);
      },
      [&](OpBuilder &, Location) {
        rowStoreOWith(acc, factor, empty, oOffset, false);
        b.create<scf::YieldOp>(loc);
      });
}

void KernelEmitter::rowStoreOWith(Value acc, Value factor, Value empty, Value oOffset, bool nonTemporal) {
  auto store = [&](Value d, bool vec) {
    if (vec) {
      Value x = b.create<arith::MulFOp>(loc, loadVecF32(acc, d, f32), b.create<vector::SplatOp>(loc, vecType(), factor));
      Value zero = b.create<vector::SplatOp>(loc, vecType(), f32c(0));
      Value out = b.create<arith::SelectOp>(loc, empty, zero, x);
      if (nonTemporal) // whole aligned lines of f32 (rowStoreO)
        b.create<LLVM::StoreOp>(loc, out, gep(oPtr, add(oOffset, d), f32), 64, false, true);
      else
        storeVecF32(out, oPtr, add(oOffset, d), qType);
    } else {
      Value x = b.create<arith::MulFOp>(loc, loadF32(acc, d, f32), factor);
      storeF32(b.create<arith::SelectOp>(loc, empty, f32c(0), x), oPtr, add(oOffset, d), qType);
    }
  };
  if (!nonTemporal)
    return vectorLoop(vDim, store);
  // Whole vectors only: rowStoreO streams rows of whole lines.
  b.create<scf::ForOp>(loc, idx(i64c(0)), idx(vDim), idx(i64c(width)), ValueRange{},
                       [&](OpBuilder &, Location, Value dIdx, ValueRange) {
                         store(i64(dIdx), true);
                         b.create<scf::YieldOp>(loc);
                       });
}

void KernelEmitter::fenceStreamingStores() {
  if (mayStreamO())
    b.create<LLVM::CallIntrinsicOp>(loc, TypeRange{}, "llvm.x86.sse.sfence", ValueRange{});
}

RowKeys KernelEmitter::itemKeys(Value &item, int64_t blockKeys) {
  if (!splitsKeys(sig))
    return {i64c(0), kvLen, Value()};
  Value unit = i64c(blockKeys);
  Value blocks = b.create<arith::CeilDivSIOp>(loc, kvLen, unit);
  Value partKeys = mul(b.create<arith::CeilDivSIOp>(loc, blocks, keySplits), unit);
  RowKeys keys;
  keys.part = b.create<arith::RemSIOp>(loc, item, keySplits);
  item = b.create<arith::DivSIOp>(loc, item, keySplits);
  keys.begin = mul(keys.part, partKeys);
  keys.end = b.create<arith::MinSIOp>(loc, add(keys.begin, partKeys), kvLen);
  return keys;
}

void KernelEmitter::finishSoftmaxRow(Value acc, Value m, Value l, Value bIdx, Value h, Value i,
                                     const RowKeys &keys) {
  auto store = [&] {
    Value empty = b.create<arith::CmpFOp>(loc, arith::CmpFPredicate::OEQ, l, f32c(0));
    Value oOff = add(add(mul(bIdx, oStr[0]), mul(h, oStr[1])), mul(i, oStr[2]));
    rowStoreO(acc, b.create<arith::DivFOp>(loc, f32c(1), l), empty, oOff);
    Value lse = b.create<arith::AddFOp>(loc, m, b.create<math::LogOp>(loc, l));
    storeLse(b.create<arith::SelectOp>(loc, empty, f32c(-std::numeric_limits<float>::infinity()), lse), bIdx, h,
             i);
  };
  if (!keys.part)
    return store();
  Value split = b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::sgt, keySplits, i64c(1));
  b.create<scf::IfOp>(
      loc, split,
      [&](OpBuilder &, Location) {
        Value row = add(mul(add(mul(bIdx, qHeads), h), qLen), i);
        Value at = mul(add(mul(row, keySplits), keys.part), add(vDim, i64c(partialFloats(0))));
        storeF32(m, partialsPtr, at, f32);
        storeF32(l, partialsPtr, add(at, i64c(1)), f32);
        Value accAt = add(at, i64c(2));
        vectorLoop(vDim, [&](Value d, bool vec) {
          if (vec)
            storeVecF32(loadVecF32(acc, d, f32), partialsPtr, add(accAt, d), f32);
          else
            storeF32(loadF32(acc, d, f32), partialsPtr, add(accAt, d), f32);
        });
        b.create<scf::YieldOp>(loc);
      },
      [&](OpBuilder &, Location) {
        store();
        b.create<scf::YieldOp>(loc);
      });
}

void KernelEmitter::storeLse(Value value, Value bIdx, Value h, Value i) {
  if (!sig.returnLse)
    return;
  Value null = b.create<LLVM::ZeroOp>(loc, ptrType);
  Value present = b.create<LLVM::ICmpOp>(loc, LLVM::ICmpPredicate::ne, lsePtr, null);
  b.create<scf::IfOp>(loc, present, [&](OpBuilder &, Location) {
    Value off = add(add(mul(bIdx, lseStr[0]), mul(h, lseStr[1])), mul(i, lseStr[2]));
    storeF32(value, lsePtr, off, f32);
    b.create<scf::YieldOp>(loc);
  });
}

Value KernelEmitter::checkedLoad(ad::LoadOp load, IRMapping &map) {
  SmallVector<Value> indices;
  for (Value index : load.getIndices())
    indices.push_back(map.lookup(index));
  return loadChecked(load, indices, load.getGuard() ? map.lookup(load.getGuard()) : Value());
}

Value KernelEmitter::loadChecked(ad::LoadOp load, ValueRange indices, Value guard) {
  const Extra &e = extras.at(load.getInput().str());
  Value inRange = b.create<arith::ConstantOp>(loc, b.getBoolAttr(true));
  Value offset = i64c(0);
  for (auto [d, i] : llvm::enumerate(indices)) {
    // One unsigned compare covers both i < 0 and i >= size.
    Value ok = b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ult, i, e.sizes[d]);
    inRange = b.create<arith::AndIOp>(loc, inRange, ok);
    Value safe = b.create<arith::SelectOp>(loc, ok, i, i64c(0));
    offset = add(offset, mul(safe, e.strides[d]));
  }
  Value bad = b.create<arith::XOrIOp>(loc, inRange, b.create<arith::ConstantOp>(loc, b.getBoolAttr(true)));
  if (guard)
    bad = b.create<arith::AndIOp>(loc, bad, guard);
  reportOutOfRange(e, bad);
  return widenRead(e, b.create<LLVM::LoadOp>(loc, e.elemType, gep(e.ptr, offset, e.elemType), bytesOf(e.elemType)));
}

void KernelEmitter::reportOutOfRange(const Extra &e, Value bad) {
  b.create<scf::IfOp>(loc, bad, [&](OpBuilder &, Location) {
    b.create<LLVM::StoreOp>(loc, i64c(ATTN_STATUS_OUT_OF_RANGE_BASE + e.inputIndex), status, 8,
                            false, false, LLVM::AtomicOrdering::monotonic);
    b.create<scf::YieldOp>(loc);
  });
}

Value KernelEmitter::widenRead(const Extra &e, Value raw) {
  auto vec = dyn_cast<VectorType>(raw.getType());
  auto like = [&](Type t) -> Type { return vec ? VectorType::get(vec.getShape(), t) : t; };
  if (e.elemType.isInteger(32))
    return b.create<arith::ExtSIOp>(loc, like(i64Type), raw);
  if (e.elemType != f32)
    return b.create<arith::ExtFOp>(loc, like(f32), raw);
  return raw;
}

Value KernelEmitter::gatherChecked(ad::LoadOp load, ValueRange indices, Value lanes) {
  const Extra &e = extras.at(load.getInput().str());
  int64_t w = cast<VectorType>(lanes.getType()).getNumElements();
  auto i64Vec = VectorType::get({w}, i64Type);
  auto splatI64 = [&](Value x) { return b.create<vector::SplatOp>(loc, i64Vec, x).getResult(); };
  Value allOk = b.create<arith::ConstantOp>(loc, DenseElementsAttr::get(VectorType::get({w}, b.getI1Type()), true));
  Value offset = splatI64(i64c(0));
  for (auto [d, i] : llvm::enumerate(indices)) {
    Value ok = b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ult, i, splatI64(e.sizes[d]));
    allOk = b.create<arith::AndIOp>(loc, allOk, ok);
    Value safe = b.create<arith::SelectOp>(loc, ok, i, splatI64(i64c(0)));
    offset = b.create<arith::AddIOp>(loc, offset, b.create<arith::MulIOp>(loc, safe, splatI64(e.strides[d])));
  }
  Value notOk = b.create<arith::XOrIOp>(
      loc, allOk, b.create<arith::ConstantOp>(loc, DenseElementsAttr::get(cast<VectorType>(allOk.getType()), true)));
  reportOutOfRange(e, b.create<vector::ReductionOp>(loc, vector::CombiningKind::OR,
                                                     b.create<arith::AndIOp>(loc, notOk, lanes)));
  Type ptrType = LLVM::LLVMPointerType::get(b.getContext());
  Value ptrs = b.create<LLVM::GEPOp>(loc, LLVM::getFixedVectorType(ptrType, w), e.elemType, e.ptr, ValueRange{offset});
  // Gathered as integers of the element's width: x86 has no 16-bit gather,
  // and LLVM scalarizes a bf16 one through f32 (its zero pass-through
  // becomes a call to __truncsfbf2 without AVX512-BF16, which neither a JIT
  // process nor a program linking an AOT kernel need have).
  Type gathered = e.elemType.isF32() || e.elemType.isInteger(32) ? e.elemType : b.getIntegerType(bytesOf(e.elemType) * 8);
  auto gatherVec = VectorType::get({w}, gathered);
  TypedAttr zeroAttr = isa<IntegerType>(gathered) ? DenseElementsAttr::get(gatherVec, b.getIntegerAttr(gathered, 0))
                                                  : DenseElementsAttr::get(gatherVec, b.getFloatAttr(gathered, 0.0));
  Value zero = b.create<arith::ConstantOp>(loc, zeroAttr);
  Value raw = b.create<LLVM::masked_gather>(loc, gatherVec, ptrs, b.create<arith::AndIOp>(loc, allOk, lanes),
                                            ValueRange{zero}, bytesOf(e.elemType));
  if (gathered != e.elemType)
    raw = b.create<arith::BitcastOp>(loc, VectorType::get({w}, e.elemType), raw);
  return widenRead(e, raw);
}

Value KernelEmitter::inlineRegion(Region &region, ValueRange args) {
  IRMapping map;
  Block &block = region.front();
  for (auto [arg, value] : llvm::zip(block.getArguments(), args))
    map.map(arg, value);
  for (Operation &o : block) {
    if (auto yield = dyn_cast<ad::YieldOp>(o))
      return map.lookup(yield.getValue());
    if (auto dim = dyn_cast<ad::DimOp>(o)) {
      map.map(dim.getResult(), dims.at(dim.getName().str()));
    } else if (auto load = dyn_cast<ad::LoadOp>(o)) {
      Value v = load.getIndices().empty() ? scalars.at(load.getInput().str()) : checkedLoad(load, map);
      map.map(load.getResult(), v);
    } else {
      b.clone(o, map);
    }
  }
  return {};
}

} // namespace attn
