//===- AttnDialect.cpp - The attn dialect and its attributes ---------------===//
#include "dialects/Attn/IR/AttnDialect.h"
#include "dialects/Attn/IR/AttnOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::attn;

#include "dialects/Attn/IR/AttnDialect.cpp.inc"
#include "dialects/Attn/IR/AttnEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "dialects/Attn/IR/AttnAttrs.cpp.inc"

void AttnDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "dialects/Attn/IR/AttnOps.cpp.inc"
      >();
  addAttributes<
#define GET_ATTRDEF_LIST
#include "dialects/Attn/IR/AttnAttrs.cpp.inc"
      >();
}

//===----------------------------------------------------------------------===//
// InputAttr: #attn.input<name : type[d0, d1, ...]>
//===----------------------------------------------------------------------===//

Attribute InputAttr::parse(AsmParser &parser, Type) {
  MLIRContext *ctx = parser.getContext();
  std::string name;
  Type elementType;
  if (parser.parseLess() || parser.parseKeywordOrString(&name) ||
      parser.parseColon() || parser.parseType(elementType))
    return {};
  SmallVector<Attribute> dims;
  if (succeeded(parser.parseOptionalLSquare())) {
    auto parseDim = [&]() -> ParseResult {
      int64_t size = 0;
      OptionalParseResult isInt = parser.parseOptionalInteger(size);
      if (isInt.has_value()) {
        if (failed(*isInt))
          return failure();
        dims.push_back(IntegerAttr::get(IntegerType::get(ctx, 64), size));
        return success();
      }
      std::string dimName;
      if (parser.parseKeywordOrString(&dimName))
        return failure();
      dims.push_back(StringAttr::get(ctx, dimName));
      return success();
    };
    if (parser.parseCommaSeparatedList(parseDim) || parser.parseRSquare())
      return {};
  }
  if (parser.parseGreater())
    return {};
  return parser.getChecked<InputAttr>(ctx, StringAttr::get(ctx, name),
                                      elementType, ArrayAttr::get(ctx, dims));
}

void InputAttr::print(AsmPrinter &printer) const {
  printer << "<";
  printer.printKeywordOrString(getName().getValue());
  printer << " : " << getElementType();
  if (!isScalar()) {
    printer << "[";
    llvm::interleaveComma(getDims(), printer, [&](Attribute dim) {
      if (auto size = llvm::dyn_cast<IntegerAttr>(dim))
        printer << size.getInt();
      else
        printer.printKeywordOrString(llvm::cast<StringAttr>(dim).getValue());
    });
    printer << "]";
  }
  printer << ">";
}

LogicalResult InputAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                StringAttr name, Type elementType,
                                ArrayAttr dims) {
  if (!name || name.getValue().empty())
    return emitError() << "input needs a name";
  if (!elementType.isF32() && !elementType.isBF16() && !elementType.isF16() &&
      !elementType.isInteger(32))
    return emitError() << "input '" << name.getValue()
                       << "' must be f32, bf16, f16 or i32, not " << elementType;
  for (Attribute dim : dims) {
    if (auto size = llvm::dyn_cast<IntegerAttr>(dim)) {
      if (size.getInt() < 1)
        return emitError() << "dimension " << size.getInt() << " of '"
                           << name.getValue() << "' must be at least 1";
    } else if (auto dimName = llvm::dyn_cast<StringAttr>(dim)) {
      if (dimName.getValue().empty())
        return emitError() << "empty dimension name in '" << name.getValue()
                           << "'";
    } else {
      return emitError() << "a dimension must be an integer or a name";
    }
  }
  return success();
}

StringRef InputAttr::getDimName(unsigned d) const {
  if (auto name = llvm::dyn_cast<StringAttr>(getDims()[d]))
    return name.getValue();
  return {};
}

int64_t InputAttr::getFixedSize(unsigned d) const {
  if (auto size = llvm::dyn_cast<IntegerAttr>(getDims()[d]))
    return size.getInt();
  return -1;
}
