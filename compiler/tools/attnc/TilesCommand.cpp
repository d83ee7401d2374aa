//===- TilesCommand.cpp - attnc emit --stage tiles: the block mask ---------===//
//
// The tile map of a kernel for given sizes: one character per tile of the
// CPU kernel's tiled path (8 query rows, 16 on AMX tiles, x 3 vectors of keys), for
// batch 0 and query head 0: '#' every position kept, '.' every position
// masked (the kernel never visits it), '+' mixed (the mask is evaluated per
// key). Inputs are the demo's random data (document ids in four runs).
// With --png FILE the same map is also drawn as a picture: dark blue full,
// orange mixed, light grey empty, each tile a square of a few pixels.
//
//===----------------------------------------------------------------------===//
#include "compiler/tools/attnc/Commands.h"

#include "compiler/Reference/Interpreter.h"
#include "compiler/Reference/RandomInputs.h"
#include "compiler/Support/Png.h"
#include "compiler/Frontend/SpecSignature.h"
#include "compiler/Target/CodeGen.h"
#include "compiler/Target/KernelObject.h"

#include <algorithm>
#include <iostream>

namespace attn {

int runTiles(const Options &opts, const AttentionSpec &kernel) {
  std::optional<std::map<std::string, int64_t>> dims = sizedDims(opts, kernel);
  if (!dims)
    return 1;
  Schedule schedule = nativeSchedule();
  schedule.precision = opts.precision;
  Expected<std::unique_ptr<llvm::TargetMachine>> tm = resolveTarget(opts.target, kernel, schedule);
  if (!tm) {
    std::cerr << "attnc: error: " << tm.error() << "\n";
    return 1;
  }
  // The tiles the kernel for this target runs: 16 rows on AMX tiles.
  KernelSignature sig = signatureOf(kernel, schedule);
  int64_t rows = usesAmx(sig) ? kAmxTileRows : kTileRows;
  int64_t keys = tileKeys(sig);
  ArgumentMap args = makeInputs(kernel, *dims, 1);
  Expected<std::vector<uint8_t>> tiles = maskTiles(kernel, args, 0, 0, rows, keys);
  if (!tiles) {
    std::cerr << "attnc: error: " << tiles.error() << "\n";
    return 1;
  }
  const auto &q = args.at("q").shape, &k = args.at("k").shape;
  int64_t cols = (k[2] + keys - 1) / keys;
  int64_t counts[3] = {0, 0, 0};
  for (uint8_t t : *tiles)
    ++counts[t];
  std::cout << "kernel " << kernel.name << ", Lq=" << q[2] << " Lk=" << k[2] << ", tiles of " << rows << " rows x "
            << keys << " keys (batch 0, head 0): '#' full " << counts[2] << ", '+' mixed " << counts[1]
            << ", '.' empty " << counts[0] << "\n";
  if (!opts.png.empty()) {
    int64_t tileRows = cols ? static_cast<int64_t>(tiles->size()) / cols : 0;
    if (tileRows == 0) {
      std::cerr << "attnc: error: no tiles to draw (an empty sequence)\n";
      return 1;
    }
    // A tile is `px` pixels high and px * keys / rows wide, so the picture
    // keeps the proportions of the (i, j) plane; at most about 2048 pixels.
    int64_t aspect = std::max<int64_t>(1, keys / rows);
    int64_t px = std::clamp<int64_t>(2048 / std::max(cols * aspect, tileRows), 1, 8);
    int64_t tileW = px * aspect, width = cols * tileW, height = tileRows * px;
    static const uint8_t kColor[3][3] = {{225, 225, 225}, {240, 150, 30}, {30, 60, 140}};
    std::vector<uint8_t> rgb;
    rgb.reserve(static_cast<size_t>(width * height * 3));
    for (int64_t y = 0; y < height; ++y)
      for (int64_t x = 0; x < width; ++x) {
        const uint8_t *color = kColor[(*tiles)[(y / px) * cols + x / tileW]];
        rgb.insert(rgb.end(), color, color + 3);
      }
    if (Expected<bool> ok = writePng(opts.png, width, height, rgb); !ok) {
      std::cerr << "attnc: error: " << ok.error() << "\n";
      return 1;
    }
  }
  static const char kGlyph[] = {'.', '+', '#'};
  for (size_t n = 0; n < tiles->size(); ++n) {
    std::cout << kGlyph[(*tiles)[n]];
    if ((n + 1) % cols == 0)
      std::cout << "\n";
  }
  return 0;
}

} // namespace attn
