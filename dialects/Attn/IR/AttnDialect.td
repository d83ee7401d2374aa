//===- AttnDialect.td - The attn dialect -------------------*- tablegen -*-===//
#ifndef ATTN_DIALECT_TD
#define ATTN_DIALECT_TD

include "mlir/IR/OpBase.td"

def Attn_Dialect : Dialect {
  let name = "attn";
  let cppNamespace = "::mlir::attn";
  let summary = "Attention variants as single ops with score and mask regions";
  let description = [{
    The `attn` dialect holds one attention variant per `attn.attention` op:
    the declared inputs (element types and fixed or named dimensions), the
    weights kind, the outputs, and three regions written in `arith` and
    `math`: the scale (a kernel constant), the score modification and the
    mask. Reads of extra inputs and of dimension sizes inside the regions go
    through `attn.load` and `attn.dim`, so the regions stay closed over the
    op and can be inlined into any backend's loop nest.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::math::MathDialect"];
  let useDefaultAttributePrinterParser = 1;
}

class Attn_Op<string mnemonic, list<Trait> traits = []>
    : Op<Attn_Dialect, mnemonic, traits>;

#endif // ATTN_DIALECT_TD
