//===- AttnOps.td - Operations of the attn dialect --------*- tablegen -*-===//
#ifndef ATTN_OPS_TD
#define ATTN_OPS_TD

include "dialects/Attn/IR/AttnAttrs.td"
include "mlir/IR/OpAsmInterface.td"
include "mlir/IR/SymbolInterfaces.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/Interfaces/ControlFlowInterfaces.td"

def Attn_AttentionOp : Attn_Op<"attention",
    [Symbol, IsolatedFromAbove,
     DeclareOpInterfaceMethods<OpAsmOpInterface, ["getAsmBlockArgumentNames"]>]> {
  let summary = "one attention variant: o = weights(mask(score(scale * q.k))) v";
  let description = [{
    Carries everything a backend needs to generate one fused kernel. Inputs
    `q`, `k`, `v` come first (`[batch, heads, seq, dim]`), then extra tensor
    and scalar inputs. The three regions are evaluated per kernel (`scale`,
    no arguments), per score (`score`: the scaled score `s` and the batch,
    query head, query position and key position) and per score position
    (`mask`: the four positions, yielding `i1`).

    ```mlir
    attn.attention @causal [#attn.input<q : f32[B, 16, L, 128]>,
                            #attn.input<k : f32[B, 16, L, 128]>,
                            #attn.input<v : f32[B, 16, L, 128]>]
        weights softmax lse scale {
      %c = arith.constant 0.0883883461 : f32
      attn.yield %c : f32
    } score {
    ^bb0(%s: f32, %b: i64, %h: i64, %i: i64, %j: i64):
      attn.yield %s : f32
    } mask {
    ^bb0(%b: i64, %h: i64, %i: i64, %j: i64):
      %m = arith.cmpi sle, %j, %i : i64
      attn.yield %m : i1
    }
    ```

    `topk` carries K when the weights kind is `topk`; `lse` asks for the
    log-sum-exp output beside `o`.
  }];
  let arguments = (ins SymbolNameAttr:$sym_name,
                       TypedArrayAttrBase<Attn_InputAttr, "declared inputs">:$inputs,
                       Attn_WeightsKind:$weights,
                       OptionalAttr<I64Attr>:$topk,
                       UnitAttr:$lse);
  let regions = (region SizedRegion<1>:$scale, SizedRegion<1>:$score,
                        SizedRegion<1>:$mask);
  let assemblyFormat = [{
    $sym_name $inputs `weights` $weights (`(` $topk^ `)`)? (`lse` $lse^)?
    attr-dict-with-keyword `scale` $scale `score` $score `mask` $mask
  }];
  let hasVerifier = 1;
  let hasRegionVerifier = 1;
  let extraClassDeclaration = [{
    /// The declared input named `name`, or null.
    ::mlir::attn::InputAttr lookupInput(::llvm::StringRef name);
    /// The input that binds dimension `name` first, and its position.
    std::optional<std::pair<::mlir::attn::InputAttr, unsigned>>
    lookupDim(::llvm::StringRef name);
    ::mlir::attn::InputAttr getInput(unsigned n) {
      return ::llvm::cast<::mlir::attn::InputAttr>(getInputs()[n]);
    }
  }];
}

def Attn_YieldOp : Attn_Op<"yield",
    [Pure, Terminator, ReturnLike, HasParent<"AttentionOp">]> {
  let summary = "the value of a scale, score or mask region";
  let description = [{
    Ends a region of `attn.attention`: `f32` for `scale` and `score`, `i1`
    for `mask`.
  }];
  let arguments = (ins AnyTypeOf<[F32, I1]>:$value);
  let assemblyFormat = "$value attr-dict `:` type($value)";
}

def Attn_DimOp : Attn_Op<"dim", [Pure]> {
  let summary = "the size of a named dimension";
  let description = [{
    `%n = attn.dim "L"` is the size bound to dimension name `L` when the
    kernel is called.
  }];
  let arguments = (ins StrAttr:$name);
  let results = (outs I64:$result);
  let assemblyFormat = "$name attr-dict";
  let hasVerifier = 1;
}

def Attn_LoadOp : Attn_Op<"load", [Pure, AttrSizedOperandSegments]> {
  let summary = "read an extra input";
  let description = [{
    `%x = attn.load "slopes"[%h] : f32` reads element `[%h]` of input
    `slopes`; a scalar input has no indices. Float inputs read as `f32`,
    `i32` inputs as `i64`. Every read is range checked unless proved in
    range: an index outside the input is an error of the kernel call, never
    a wild read. The optional guard is the condition under which the read
    is evaluated at all (the right side of `&&`, a branch of `?:`): a read
    whose guard is false reads nothing and is never an error.

    ```mlir
    %d = attn.load "doc"[%b, %j] if %in_range : i64
    ```
  }];
  let arguments = (ins StrAttr:$input, Variadic<I64>:$indices,
                       Optional<I1>:$guard);
  let results = (outs AnyTypeOf<[F32, I64]>:$result);
  let assemblyFormat = [{
    $input `[` $indices `]` (`if` $guard^)? attr-dict `:` type($result)
  }];
  let hasVerifier = 1;
}

#endif // ATTN_OPS_TD
