//===- AmxTiles.cpp - Permission to use AMX tile state ---------------------===//
//
// Linux (5.16 and later) keeps AMX tile data off for a process until it
// asks: the XTILEDATA state is large, so the kernel only saves it for
// processes that request it. A tile instruction before the request raises
// SIGILL.
//
//===----------------------------------------------------------------------===//
#include "attn/Signature.h"

#if defined(__linux__) && defined(__x86_64__)
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace attn {

bool requestAmxTiles() {
#if defined(__linux__) && defined(__x86_64__)
  // One request per process; the permission then holds for all its threads
  // (and children of fork).
  static const bool granted = [] {
    constexpr long kArchReqXcompPerm = 0x1023; // <asm/prctl.h>
    constexpr long kXfeatureXtiledata = 18;
    return ::syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0;
  }();
  return granted;
#else
  return false;
#endif
}

} // namespace attn
