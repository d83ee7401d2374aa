//===- AttnAttrs.td - Attributes of the attn dialect ------*- tablegen -*-===//
#ifndef ATTN_ATTRS_TD
#define ATTN_ATTRS_TD

include "dialects/Attn/IR/AttnDialect.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"

def Attn_WeightsKind : I32EnumAttr<"WeightsKind",
    "how scores become attention weights", [
      I32EnumAttrCase<"softmax", 0>,
      I32EnumAttrCase<"sigmoid", 1>,
      I32EnumAttrCase<"topk", 2>,
      I32EnumAttrCase<"argmax", 3>]> {
  let cppNamespace = "::mlir::attn";
}

def Attn_InputAttr : AttrDef<Attn_Dialect, "Input"> {
  let mnemonic = "input";
  let summary = "one declared input: name, element type and dimensions";
  let description = [{
    A tensor input such as `#attn.input<q : bf16[B, 16, L, 256]>` (each
    dimension a number fixed at compile time or a name bound when the kernel
    is called) or a scalar input such as `#attn.input<window : i32>`.
    `dims` holds an `IntegerAttr` or a `StringAttr` per dimension and is empty
    for a scalar.
  }];
  let parameters = (ins "::mlir::StringAttr":$name,
                        "::mlir::Type":$elementType,
                        "::mlir::ArrayAttr":$dims);
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    bool isScalar() const { return getDims().empty(); }
    int64_t getRank() const { return getDims().size(); }
    /// The name of dimension `d`, or empty when that dimension is fixed.
    ::llvm::StringRef getDimName(unsigned d) const;
    /// The fixed size of dimension `d`, or -1 when it is named.
    int64_t getFixedSize(unsigned d) const;
  }];
}

#endif // ATTN_ATTRS_TD
